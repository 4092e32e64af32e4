"""Who is calling the API: the checkout page by its ingest key, staff tools by an API token."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from orderdesk.organizations.models import ApiToken, Checkout, hash_secret
from orderdesk.organizations.tokens import api_token_for


class CheckoutRequest(HttpRequest):
    auth: Checkout


class CheckoutKey(HttpBearer):
    """`Authorization: Bearer ck_...`: a checkout's ingest key, found by its hash."""

    def authenticate(self, request: HttpRequest, token: str) -> Checkout | None:
        if not token.startswith("ck_"):
            return None
        return (
            Checkout.objects.select_related("organization")
            .filter(ingest_key_hash=hash_secret(token))
            .first()
        )


class StaffRequest(HttpRequest):
    auth: ApiToken


class StaffToken(HttpBearer):
    """`Authorization: Bearer od_...`: an API token of one checkout; revoked ones are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return api_token_for(token)
