"""Forgotten passwords: Django's own reset views, on the login page's layout, rate-limited per
email address and per client address (`organizations.password_resets`)."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy

from orderdesk.lib.lockouts import client_address
from orderdesk.organizations.password_resets import may_request_password_reset
from orderdesk.web.second_factor import second_factor_exempt

TOO_MANY = gettext_lazy(
    "Too many password reset emails were asked for this address or from your network. "
    "Try again in an hour."
)


class RequestResetView(auth_views.PasswordResetView):
    template_name = "web/password_reset/request.html"
    email_template_name = "web/password_reset/email.txt"
    subject_template_name = "web/password_reset/subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def get_extra_email_context(self) -> dict[str, Any]:
        # The link names the configured site, never the Host header of whoever asked.
        return {"site_url": settings.SITE_URL.rstrip("/"), "valid_hours": _valid_hours()}

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if not may_request_password_reset(
            email=form.cleaned_data["email"],
            address=client_address(self.request),
            now=timezone.now(),
        ):
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class ChoosePasswordView(auth_views.PasswordResetConfirmView):
    template_name = "web/password_reset/choose.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        response = super().form_valid(form)
        # Only the owner of the mailbox gets here: failed logins by others, which may have
        # locked them out, no longer count.
        AxesProxyHandler.reset_attempts(username=form.user.get_username())
        return response


def _valid_hours() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)


# Someone who forgot their password may be half signed in, before their second factor.
request_reset = second_factor_exempt(RequestResetView.as_view())
reset_sent = second_factor_exempt(
    auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset/sent.html")
)
choose_password = second_factor_exempt(ChoosePasswordView.as_view())
password_changed = second_factor_exempt(
    auth_views.PasswordResetCompleteView.as_view(template_name="web/password_reset/done.html")
)
