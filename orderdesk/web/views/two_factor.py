"""The second factor's pages: enrol an authenticator app, and confirm a code after logging in."""

from __future__ import annotations

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp import login as otp_login

from orderdesk.organizations.second_factor import (
    CodeCheck,
    confirm_authenticator,
    pending_authenticator,
    secret_for_typing,
    verify_code,
)
from orderdesk.web.http import StaffRequest
from orderdesk.web.second_factor import is_verified, second_factor_exempt

WRONG_CODE = gettext_lazy(
    "That code did not match. Enter the 6-digit code your authenticator app shows now."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        error_messages={
            "required": gettext_lazy("Enter the 6-digit code from your authenticator app.")
        },
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code


def _next(request: StaffRequest) -> str:
    """Where to go once the code is confirmed: the page asked for, if it is one of ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return "/orders/"


def _refused(form: CodeForm, check: CodeCheck) -> None:
    if check.retry_in is not None:
        seconds = max(1, round(check.retry_in.total_seconds()))
        form.add_error(
            "code",
            ngettext(
                "Too many wrong codes: try again in %(seconds)s second.",
                "Too many wrong codes: try again in %(seconds)s seconds.",
                seconds,
            )
            % {"seconds": seconds},
        )
    else:
        form.add_error("code", str(WRONG_CODE))


@second_factor_exempt
@login_required
def setup(request: StaffRequest) -> HttpResponse:
    """Show a new authenticator's key as a QR code and confirm it with one of its codes."""
    user = request.user
    required = request.access.second_factor_required if request.access else False
    if user.has_authenticator:
        return render(
            request,
            "web/two_factor/setup.html",
            {"enrolled": True, "required": required, "next": _next(request)},
        )
    device = pending_authenticator(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = confirm_authenticator(device, form.cleaned_data["code"])
        if check.device is not None:
            otp_login(request, check.device)
            return redirect(_next(request))
        _refused(form, check)
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "required": required,
        "next": _next(request),
        "secret": secret_for_typing(device),
        # segno's own SVG markup of our URL: no script, no style attribute.
        "qr_code": mark_safe(qr.svg_inline(scale=5, title="QR code", svgclass="qr-code")),  # noqa: S308
    }
    return render(request, "web/two_factor/setup.html", context)


@second_factor_exempt
@login_required
def verify(request: StaffRequest) -> HttpResponse:
    """After the password: the code from the member's authenticator app."""
    if is_verified(request) or not request.user.has_authenticator:
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = verify_code(request.user, form.cleaned_data["code"])
        if check.device is not None:
            otp_login(request, check.device)
            return redirect(_next(request))
        _refused(form, check)
    return render(request, "web/two_factor/verify.html", {"form": form, "next": _next(request)})
