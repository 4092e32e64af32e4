"""The Django admin is for platform operators only, never for a merchant's staff.

The admin spans every organization, so the organization owner role grants nothing here:
`User.is_platform_operator` does (Django's `is_staff` and `is_superuser` alone do not).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def is_platform_operator(user: Any) -> bool:
    return bool(user.is_active and getattr(user, "is_platform_operator", False))


class OperatorAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Enter the email and password of a platform operator account.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        # The parent also refuses users without is_staff; only the operator flag counts here.
        if not is_platform_operator(user):
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class OperatorAdminSite(admin.AdminSite):
    site_header = "Orderdesk platform administration"
    site_title = "Orderdesk administration"
    login_form = OperatorAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return is_platform_operator(request.user)
