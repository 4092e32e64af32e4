"""Provider accounts are edited in Django's admin, by platform operators with superuser rights
only; secrets are write-only. Each row names the organization and checkout it belongs to."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from orderdesk.payments.models import ProviderAccount

SECRET_HELP = (
    "Write-only: never shown again. Leave blank to keep the current value; "
    "enter env:NAME to read it from the environment variable NAME."
)


class ProviderAccountForm(forms.ModelForm[ProviderAccount]):
    secret_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stripe secret key, Paytrail secret or Epassi MAC key. " + SECRET_HELP,
    )
    webhook_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stripe webhook signing secret (whsec_…). " + SECRET_HELP,
    )
    clear_webhook_secret = forms.BooleanField(required=False, label="Clear webhook secret")

    class Meta:
        model = ProviderAccount
        fields = [
            "checkout",
            "provider",
            "is_enabled",
            "account_id",
            "methods",
            "paytrail_shop_in_shop_merchant",
            "epassi_no_refund_interface",
        ]

    def save(self, commit: bool = True) -> ProviderAccount:
        account = super().save(commit=False)
        stored = (
            ProviderAccount.objects.filter(pk=account.pk)
            .values("secret_key", "webhook_secret")
            .first()
            if account.pk
            else None
        ) or {"secret_key": "", "webhook_secret": ""}
        for field in ("secret_key", "webhook_secret"):
            # Blank means "keep": the form never shows the stored value to edit.
            setattr(account, field, self.cleaned_data.get(field) or stored[field])
        if self.cleaned_data.get("clear_webhook_secret"):
            account.webhook_secret = ""
        if commit:
            account.save()
        return account


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin[ProviderAccount]):
    form = ProviderAccountForm
    list_display = [
        "organization",
        "checkout",
        "provider",
        "is_enabled",
        "account_id",
        "has_secret_key",
    ]
    list_filter = ["checkout__organization", "checkout", "provider", "is_enabled"]
    list_select_related = ["checkout__organization"]
    fields = [
        "checkout",
        "provider",
        "is_enabled",
        "account_id",
        "methods",
        "paytrail_shop_in_shop_merchant",
        "epassi_no_refund_interface",
        "secret_key",
        "webhook_secret",
        "clear_webhook_secret",
        "secret_status",
    ]
    readonly_fields = ["secret_status"]

    @admin.display(description="Organization", ordering="checkout__organization__name")
    def organization(self, account: ProviderAccount) -> str:
        return account.checkout.organization.name

    @admin.display(boolean=True, description="Secret key set")
    def has_secret_key(self, account: ProviderAccount) -> bool:
        return account.has_secret("secret_key")

    @admin.display(description="Secrets")
    def secret_status(self, account: ProviderAccount) -> str:
        def state(field: str) -> str:
            value = getattr(account, field)
            if not value:
                return "not set"
            return "from environment" if value.startswith("env:") else "set"

        return f"secret key: {state('secret_key')}; webhook secret: {state('webhook_secret')}"

    # Secrets live here: only superusers may see or edit accounts, whatever their permissions.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)


def _is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)
