"""The UI's language, chosen from the header's menu: saved on the member and in a cookie."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orderdesk.organizations.accounts import LanguageForm, choose_language
from orderdesk.web.http import StaffRequest


@login_required
@require_POST
def set_language(request: StaffRequest) -> HttpResponse:
    """Save the language and go back to the page it was chosen on."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a language from the list."))
    language = form.cleaned_data["language"]
    choose_language(request.user, language=language)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    return remember_language(redirect(back), language)


def remember_language(response: HttpResponse, language: str) -> HttpResponse:
    """Django's language cookie follows the member's choice, so the login page speaks it
    after logging out; the browser's language (blank) removes it."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, samesite="Lax")
    return response
