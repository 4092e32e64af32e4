"""The second factor's gate: a signed-in member with an authenticator app confirms a code before
anything else, and one whose organization requires a second factor enrols first.

Every view behind a login is gated, the admin included; only the steps of signing in are not
(`second_factor_exempt`: log in and out, password reset, the code and enrolment pages), nor
static files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from orderdesk.web.http import StaffRequest

EXEMPT = "second_factor_exempt"


def second_factor_exempt[View: Callable[..., HttpResponseBase]](view: View) -> View:
    """Mark a view a member reaches before their second factor is confirmed."""
    setattr(view, EXEMPT, True)
    return view


def is_verified(request: HttpRequest) -> bool:
    """Whether this session confirmed a code (django-otp's OTPMiddleware sets `is_verified`)."""
    return bool(request.user.is_verified())  # type: ignore[union-attr]


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if (
            not request.user.is_authenticated
            or getattr(view_func, EXEMPT, False)
            or request.path_info.startswith(settings.STATIC_URL)
            or is_verified(request)
        ):
            return None
        staff = cast(StaffRequest, request)
        if staff.user.has_authenticator:
            step = "two_factor_verify"
        elif staff.access is not None and staff.access.second_factor_required:
            step = "two_factor_setup"
        else:
            return None
        url = f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(staff, "htmx", False):
            # A fragment swapped into the page would be the code form: load the page instead.
            return HttpResponseClientRedirect(url)
        response: HttpResponse = redirect(url)
        return response
