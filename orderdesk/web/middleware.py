"""Show times in the signed-in user's time zone (their own, else their organization's)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orderdesk.organizations.access import member_access, user_time_zone


class UserTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        access = member_access(request) if request.user.is_authenticated else None
        if access is not None:
            organization = access.current.organization if access.current else None
            try:
                timezone.activate(zoneinfo.ZoneInfo(user_time_zone(access.user, organization)))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
