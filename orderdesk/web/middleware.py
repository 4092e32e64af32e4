"""Who is asking: the signed-in member's access (`request.access`) and their time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from orderdesk.lib.replica import pinned_to_primary, replica_configured
from orderdesk.organizations.roles import MemberAccess, member_access
from orderdesk.web.http import WebRequest
from orderdesk.web.navigation import Navigation

# The checkout a member is working in lives in their session (the checkout switcher).
SESSION_KEY = "current_checkout_id"


def switch_checkout(request: WebRequest, checkout_id: int) -> MemberAccess:
    """Make `checkout_id` the member's current checkout; 404 if they have no role on it."""
    if request.access is None:
        raise Http404("No such checkout.")
    switched = request.access.switched_to(checkout_id)
    if switched is None:
        raise Http404("No such checkout.")
    request.session[SESSION_KEY] = checkout_id
    request.access = switched
    return switched


class MemberAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        web_request = cast(WebRequest, request)
        web_request.access = None
        web_request.navigation = Navigation(web_request)
        if request.user.is_authenticated:
            access = member_access(
                request.user, current_checkout_id=request.session.get(SESSION_KEY)
            )
            if access.current is not None and access.current.checkout.pk != request.session.get(
                SESSION_KEY
            ):
                request.session[SESSION_KEY] = access.current.checkout.pk
            web_request.access = access
            try:
                timezone.activate(zoneinfo.ZoneInfo(access.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class StaffLanguageMiddleware(LocaleMiddleware):
    """The page's language: the signed-in member's choice (`User.language`), else the
    language cookie their last choice left (so the login page speaks it too), else the
    browser's Accept-Language, else English. Django's own middleware answers with
    `Content-Language` and `Vary: Accept-Language, Cookie`."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            # The API's messages and labels are part of its contract with programs: English.
            translation.activate(settings.LANGUAGE_CODE)
        else:
            user = request.user
            chosen = getattr(user, "language", "") if user.is_authenticated else ""
            translation.activate(chosen or translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        # The thread's next work (another request's start, a task, a test) begins in the
        # default language, not in this member's. Streamed CSVs choose theirs explicitly.
        translation.deactivate()
        return response


def no_store_for_members(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    """Every page a signed-in member sees holds customer data or leads to it: no browser cache
    or proxy keeps a copy, and Back after logging out shows nothing."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response

    return middleware


# Set for REPLICA_PIN_SECONDS after a request that may have written (lib/replica.py).
PRIMARY_PIN_COOKIE = "od_primary"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def primary_after_writes(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    """With a read replica, reads of the same browser for a few seconds after a write come from
    the primary: the table a member returns to after a refund shows it, however far the
    replica lags. The mark is a cookie, not the session, so it costs no database write; a
    forged one only sends its own reads to the primary."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        if not replica_configured():
            return get_response(request)
        with pinned_to_primary(PRIMARY_PIN_COOKIE in request.COOKIES):
            response = get_response(request)
        if request.method not in _SAFE_METHODS and response.status_code < 400:
            response.set_cookie(
                PRIMARY_PIN_COOKIE,
                "1",
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    return middleware
