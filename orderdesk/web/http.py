"""The request types of the web UI: what the middleware guarantees a view can read."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from orderdesk.organizations.models import User
from orderdesk.organizations.roles import MemberAccess
from orderdesk.web.navigation import Navigation


class WebRequest(HttpRequest):
    """Any request through the web middleware: `access` is None for anonymous visitors."""

    access: MemberAccess | None
    htmx: HtmxDetails
    # The app shell's data (checkouts, the attention counter), computed on first use.
    navigation: Navigation


class StaffRequest(WebRequest):
    """A signed-in staff member's request (views under `login_required`)."""

    user: User
    access: MemberAccess
