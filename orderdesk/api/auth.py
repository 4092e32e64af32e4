"""Who is calling the API: the checkout page by its ingest key, staff tools by an API token.

A key or token that is not found is a guess: counted per address, and an address that made
API_FAILURE_LIMIT of them lately is answered 429 without looking (orderdesk/lib/lockouts.py).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from orderdesk.lib.lockouts import api_guesses_locked, count_api_guess
from orderdesk.organizations.models import ApiToken, Checkout, hash_secret
from orderdesk.organizations.tokens import api_token_for


class TooManyGuesses(Exception):
    """Too many unknown keys or tokens from this address lately (answered with 429)."""


def refuse_locked_out(request: HttpRequest) -> None:
    if api_guesses_locked(request):
        raise TooManyGuesses


def count_guess(request: HttpRequest) -> None:
    if count_api_guess(request):
        raise TooManyGuesses


class CheckoutRequest(HttpRequest):
    auth: Checkout


class CheckoutKey(HttpBearer):
    """`Authorization: Bearer ck_...`: a checkout's ingest key, found by its hash."""

    def authenticate(self, request: HttpRequest, token: str) -> Checkout | None:
        refuse_locked_out(request)
        checkout = (
            Checkout.objects.select_related("organization")
            .filter(ingest_key_hash=hash_secret(token))
            .first()
            if token.startswith("ck_")
            else None
        )
        if checkout is None:
            count_guess(request)
        return checkout


class StaffRequest(HttpRequest):
    auth: ApiToken


class StaffToken(HttpBearer):
    """`Authorization: Bearer od_...`: an API token of one checkout; revoked ones are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        refuse_locked_out(request)
        found = api_token_for(token)
        if found is None:
            count_guess(request)
        return found
