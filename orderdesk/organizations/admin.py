"""Organizations, their checkouts and people in Django's admin, for platform operators: who is
an operator, which organization requires a second factor, and whose memberships are whose."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from orderdesk.organizations.models import (
    ApiToken,
    Checkout,
    CheckoutMembership,
    Membership,
    Organization,
    User,
)


class MembershipInline(admin.TabularInline[Membership, Organization]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ("name", "slug", "time_zone", "require_two_factor", "created_at")
    list_filter = ("require_two_factor",)
    search_fields = ("name", "slug")
    inlines = (MembershipInline,)


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin[Checkout]):
    list_display = ("organization", "name", "slug", "ingest_key_prefix", "created_at")
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("name", "slug", "organization__name")


@admin.register(CheckoutMembership)
class CheckoutMembershipAdmin(admin.ModelAdmin[CheckoutMembership]):
    list_display = ("organization", "checkout", "user", "role")
    list_filter = ("checkout__organization", "role")
    list_select_related = ("checkout__organization", "user")
    raw_id_fields = ("user", "checkout")

    @admin.display(description="Organization", ordering="checkout__organization__name")
    def organization(self, membership: CheckoutMembership) -> str:
        return membership.checkout.organization.name


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are issued with `manage.py issue_api_token`; here they are only seen or revoked."""

    list_display = ("organization", "checkout", "name", "role", "prefix", "last_used_at")
    list_filter = ("checkout__organization", "role")
    list_select_related = ("checkout__organization",)
    fields = ("checkout", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("checkout", "prefix", "created_at", "last_used_at")

    @admin.display(description="Organization", ordering="checkout__organization__name")
    def organization(self, token: ApiToken) -> str:
        return token.checkout.organization.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class UserChangeForm(auth_forms.UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class UserCreationForm(auth_forms.UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "organizations", "is_platform_operator", "is_active", "last_login")
    list_filter = ("is_platform_operator", "is_active", "memberships__organization")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "time_zone")}),
        (
            "Platform",
            {"fields": ("is_active", "is_platform_operator", "is_superuser", "groups")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)

    @admin.display(description="Organizations")
    def organizations(self, user: User) -> str:
        return ", ".join(m.organization.name for m in user.memberships.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("memberships__organization")
