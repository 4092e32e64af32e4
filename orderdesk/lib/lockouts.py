"""Failed sign-ins and key guesses, counted in the database by django-axes.

People are locked out per user name and address together: one office behind one address does
not lock its colleagues out, and one user name guessed from many addresses is counted per
address. A lock lifts after LOCKOUT_MINUTES without failures (a failure during the lock starts
it again), or when an operator resets it (`manage.py axes_reset_username EMAIL`,
`axes_reset_ip ADDRESS`, `axes_reset`, or the access attempts in the admin).

API keys and tokens are long random values: a failed one is a guess, counted per address
under a user name no person can have (`API_GUESSES`), with its own, larger limit since
programs retry by themselves.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils import timezone

logger = logging.getLogger("orderdesk.security")

# Not an email address, so no login can share its count.
API_GUESSES = "(API key or token)"
_API_CREDENTIALS = {"username": API_GUESSES}


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    the outermost of them saw. X-Forwarded-For is read from the right, as each proxy appends
    the address it saw; the entries to their left are the client's own word. None when that
    is no IP address (the tables keep addresses as such)."""
    remote = _ip_address(str(request.META.get("REMOTE_ADDR", "")))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return _ip_address(forwarded[-count]) or remote


def _ip_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """AXES_FAILURE_LIMIT: failures before a lock, for people and for API guesses."""
    if credentials is not None and credentials.get("username") == API_GUESSES:
        return int(settings.API_FAILURE_LIMIT)
    return int(settings.LOGIN_FAILURE_LIMIT)


def lockout_minutes() -> int:
    cool_off: dt.timedelta = settings.AXES_COOLOFF_TIME
    return max(1, round(cool_off.total_seconds() / 60))


def api_guesses_locked(request: HttpRequest) -> bool:
    """Whether this address made too many failed API key or token guesses lately."""
    return bool(AxesProxyHandler.is_locked(request, _API_CREDENTIALS))


def api_guesses_subquery(request: HttpRequest) -> RawSQL:
    """This address's failed API key and token guesses lately, as an expression, so the key's
    own lookup reads them in its query (`api.auth.CheckoutKey`: one round trip per checkout
    call instead of two). The attempts django-axes counts for `api_guesses_locked` with
    AXES_LOCKOUT_PARAMETERS `[["username", "ip_address"]]`: this user name and address, since
    the cool-off began; written as SQL, as the ORM's subquery cost ~1 ms CPU per call."""
    address = client_address(request)
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    table = AccessAttempt._meta.db_table
    match = "ip_address = %s" if address is not None else "ip_address IS NULL"
    params = [API_GUESSES, *([address] if address is not None else []), since]
    return RawSQL(  # noqa: S611
        f"SELECT coalesce(sum(failures_since_start), 0) FROM {table} "  # noqa: S608
        f"WHERE username = %s AND {match} AND attempt_time >= %s",
        params,
        output_field=IntegerField(),
    )


def api_guess_limit() -> int:
    return int(settings.API_FAILURE_LIMIT)


def count_api_guess(request: HttpRequest) -> bool:
    """Count a failed API key or token from this address; True when it is now locked out."""
    AxesProxyHandler.user_login_failed(
        sender=count_api_guess, credentials=_API_CREDENTIALS, request=request
    )
    locked = bool(getattr(request, "axes_locked_out", False))
    if locked:
        # Axes' middleware would answer with the login page's lockout; the API answers 429.
        request.axes_locked_out = False  # type: ignore[attr-defined]
        logger.warning(
            "API keys and tokens locked out for %s after %s failed guesses",
            client_address(request),
            settings.API_FAILURE_LIMIT,
        )
    return locked
