"""Who is calling the API: the checkout page by its ingest key, staff tools by an API token.

A key or token that is not found is a guess: counted per address, and an address that made
API_FAILURE_LIMIT of them lately is answered 429 without looking (orderdesk/lib/lockouts.py).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from orderdesk.lib.lockouts import (
    api_guess_limit,
    api_guesses_locked,
    api_guesses_subquery,
    count_api_guess,
)
from orderdesk.organizations.models import ApiToken, Checkout
from orderdesk.organizations.tokens import api_token_for, checkout_by_key


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
        # Every checkout call comes here: the address's recent guesses are read in the same
        # query as the key, and a locked-out address is refused whatever key it sends.
        found = (
            checkout_by_key(token, api_guesses_subquery(request))
            if token.startswith("ck_")
            else None
        )
        if found is None:
            refuse_locked_out(request)
            count_guess(request)
            return None
        checkout, recent_guesses = found
        if recent_guesses >= api_guess_limit():
            raise TooManyGuesses
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
