"""The account page: each staff member's language, time zone and password, and a way to their
second factor. Language and time zone apply to every page at the next request
(web/middleware.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from orderdesk.organizations.accounts import AccountForm, update_account
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.language import remember_language

TEMPLATE = "web/account.html"


def _organization_time_zone(request: StaffRequest) -> str:
    current = request.access.current
    return current.organization.time_zone if current is not None else "UTC"


def _page(
    request: StaffRequest,
    *,
    account_form: AccountForm | None = None,
    password_form: PasswordChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "account_form": account_form
        or AccountForm(
            initial={"language": user.language, "time_zone": user.time_zone},
            organization_time_zone=_organization_time_zone(request),
        ),
        "password_form": password_form or PasswordChangeForm(user),
        "time_zone_in_use": request.access.time_zone,
        "has_authenticator": user.has_authenticator,
    }
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account(request: StaffRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = AccountForm(request.POST, organization_time_zone=_organization_time_zone(request))
    if not form.is_valid():
        return _page(request, account_form=form, status=400)
    language = form.cleaned_data["language"]
    update_account(request.user, language=language, time_zone=form.cleaned_data["time_zone"])
    # Said in the language just chosen, which the next page speaks.
    with translation.override(language or translation.get_language_from_request(request)):
        messages.success(request, _("Settings saved."))
    return remember_language(redirect("account"), language)


@login_required
@require_POST
def change_password(request: StaffRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _page(request, password_form=form, status=400)
    form.save()
    # Keeps this session signed in; the member's other sessions end with the old password.
    update_session_auth_hash(request, form.user)
    messages.success(request, _("Password changed."))
    return redirect("account")
