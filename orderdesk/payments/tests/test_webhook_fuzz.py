"""Fuzzing the provider notification endpoints with garbage (hypothesis).

Unsigned garbage (any body, headers, query, path) is refused with a 400 (a 404 for an unknown
checkout) and stores nothing. Garbage that is correctly signed, as a broken or hostile
provider account could send, is never a 500 either; when refused, it stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orderdesk.payments.models import ProviderAccount, ProviderNotification
from orderdesk.payments.providers import epassi, paytrail
from orderdesk.testing.assertions import database_state
from orderdesk.testing.factories import World

WHSEC = "whsec_fuzz"
PAYTRAIL_ACCOUNT = "375917"
PAYTRAIL_SECRET = "SAIPPUAKAUPPIAS"
EPASSI_KEY = "epassi-fuzz-key"

FUZZ = settings(
    # FUZZ_EXAMPLES=2000 for a deep run by hand; the default keeps the suite quick.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

# Any text, NUL and non-ASCII included: the characters a signature check may trip on.
text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)


@pytest.fixture
def accounts(world: World) -> World:
    for provider, account_id, secret, webhook in [
        ("stripe", "", "sk_test_fuzz", WHSEC),
        ("paytrail", PAYTRAIL_ACCOUNT, PAYTRAIL_SECRET, ""),
        ("epassi", "77190", EPASSI_KEY, ""),
    ]:
        ProviderAccount.objects.create(
            checkout=world.checkout,
            provider=provider,
            account_id=account_id,
            secret_key=secret,
            webhook_secret=webhook,
        )
    return world


def refused_and_unchanged(send: Callable[[], HttpResponseBase], *allowed: int) -> None:
    before = database_state()
    notifications = ProviderNotification.objects.count()
    response = send()
    assert response.status_code in allowed, response.status_code
    assert database_state() == before
    assert ProviderNotification.objects.count() == notifications


def never_fails(send: Callable[[], HttpResponseBase]) -> None:
    """Accepted (200) or refused (400); refused changes nothing."""
    before = database_state()
    notifications = ProviderNotification.objects.count()
    response = send()
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert database_state() == before
        assert ProviderNotification.objects.count() == notifications


def stripe_header(payload: bytes, secret: str = WHSEC) -> str:
    timestamp = int(time.time())
    signed = str(timestamp).encode() + b"." + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


# Unsigned garbage


@given(body=st.binary(max_size=200), signature=text, content_type=text)
@example(body=b"{}", signature="t=1,v1=ä", content_type="application/json")
@example(body=b"{}", signature="t=1,v1=\x00", content_type="application/json")
@FUZZ
def test_stripe_refuses_unsigned_garbage(
    client: Client, accounts: World, body: bytes, signature: str, content_type: str
) -> None:
    url = reverse("payments:stripe-webhook", args=[accounts.checkout.pk])
    refused_and_unchanged(
        lambda: client.post(
            url,
            body,
            content_type=content_type or "application/json",
            headers={"Stripe-Signature": signature},
        ),
        400,
    )


PAYTRAIL_ROUTES = [
    "payments:paytrail-callback-success",
    "payments:paytrail-callback-cancel",
    "payments:paytrail-refund-success",
    "payments:paytrail-refund-cancel",
    "payments:paytrail-success",
    "payments:paytrail-cancel",
]
paytrail_names = st.sampled_from(
    [
        "checkout-account",
        "checkout-algorithm",
        "checkout-amount",
        "checkout-stamp",
        "checkout-status",
        "checkout-transaction-id",
        "signature",
    ]
)
garbage_query = st.lists(st.tuples(paytrail_names | text, text), max_size=8).map(
    lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
)


@pytest.mark.parametrize("route", PAYTRAIL_ROUTES)
def test_paytrail_refuses_unsigned_garbage(client: Client, accounts: World, route: str) -> None:
    url = reverse(route, args=[accounts.checkout.pk])

    @given(query=garbage_query)
    @example(query="checkout-algorithm=sha256&signature=%C3%A4")
    @example(query="checkout-algorithm=sha512&signature=%00")
    @FUZZ
    def fuzz(query: str) -> None:
        refused_and_unchanged(lambda: client.get(url, QUERY_STRING=query), 400)

    fuzz()


@given(form=st.dictionaries(st.sampled_from(["STAMP", "PAID", "MAC"]) | text, text, max_size=4))
@example(form={"STAMP": "s", "PAID": "1", "MAC": "ä"})
@example(form={"STAMP": "s", "PAID": "1", "MAC": "\x00"})
@FUZZ
def test_epassi_refuses_unsigned_garbage(
    client: Client, accounts: World, form: dict[str, str]
) -> None:
    url = reverse("payments:epassi-return", args=[accounts.checkout.pk])
    refused_and_unchanged(lambda: client.post(url, form), 400)


path_part = st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s)


@pytest.mark.parametrize("route", ["payments:epassi-reject", "payments:epassi-cancel"])
def test_epassi_refuses_unsigned_return_links(client: Client, accounts: World, route: str) -> None:
    @given(stamp=path_part, token=path_part, error=text)
    @example(stamp="s", token="ä", error="")
    @example(stamp="\x00", token="x", error="\x00")
    @FUZZ
    def fuzz(stamp: str, token: str, error: str) -> None:
        url = reverse(route, args=[accounts.checkout.pk, quote(stamp, safe=""), "x"])
        url = url.removesuffix("x/") + quote(token, safe="") + "/"
        refused_and_unchanged(lambda: client.get(url, {"error": error}), 400)

    fuzz()


@given(checkout_id=st.integers(min_value=0, max_value=10**30))
@FUZZ
def test_an_unknown_checkout_is_a_404(client: Client, accounts: World, checkout_id: int) -> None:
    if checkout_id == accounts.checkout.pk:
        return
    for route, method in [
        ("payments:stripe-webhook", "post"),
        ("payments:paytrail-callback-success", "get"),
        ("payments:epassi-return", "post"),
    ]:
        url = reverse(route, args=[0]).replace("/0/", f"/{checkout_id}/")
        refused_and_unchanged(lambda: client.generic(method.upper(), url), 404)  # noqa: B023


# Correctly signed garbage

stripe_types = st.sampled_from(
    [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
    ]
)
stripe_objects = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "metadata": json_values,
        "currency": json_values,
        "amount": json_values,
        "amount_received": json_values,
        "amount_refunded": json_values,
        "payment_method_types": json_values,
        "last_payment_error": json_values,
        "payment_intent": json_values,
        "status": json_values,
        "failure_reason": json_values,
    },
)
stripe_events = st.fixed_dictionaries(
    {"id": text | st.integers(), "type": stripe_types | text, "data": st.just(None)}
).flatmap(lambda e: stripe_objects.map(lambda obj: {**e, "data": {"object": obj}}))


@given(event=stripe_events | json_values)
@example(
    event={"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"metadata": []}}}
)
@example(
    event={
        "id": "evt_2",
        "type": "payment_intent.payment_failed",
        "data": {"object": {"last_payment_error": "x"}},
    }
)
@example(
    event={
        "id": "evt_3",
        "type": "payment_intent.succeeded",
        "data": {"object": {"payment_method_types": {"a": 1}}},
    }
)
@example(event={"id": "evt_\x00", "type": "x", "data": {"object": {}}})
@example(event={"id": "evt_4", "type": "x", "data": {"object": {"k": "\x00"}}})
@example(event={"id": "evt_5", "type": "x", "data": {"object": {"k": ["\ud800"]}}})
@example(event={"id": "evt_6", "type": "x", "data": {"object": {"k": float("inf")}}})
@example(event={"id": "evt_7", "type": "x", "data": {"object": {"k": float("nan")}}})
@FUZZ
def test_stripe_never_fails_on_signed_garbage(client: Client, accounts: World, event: Any) -> None:
    url = reverse("payments:stripe-webhook", args=[accounts.checkout.pk])
    body = json.dumps(event).encode()
    never_fails(
        lambda: client.post(
            url,
            body,
            content_type="application/json",
            headers={"Stripe-Signature": stripe_header(body)},
        )
    )


paytrail_params = st.fixed_dictionaries(
    {
        "checkout-account": st.just(PAYTRAIL_ACCOUNT),
        "checkout-algorithm": st.sampled_from(["sha256", "sha512"]),
    },
    optional={
        "checkout-amount": text | st.integers().map(str),
        "checkout-stamp": text,
        "checkout-status": st.sampled_from(["ok", "fail", "pending", "delayed"]) | text,
        "checkout-transaction-id": text,
        "checkout-provider": text,
    },
)


@pytest.mark.parametrize("route", PAYTRAIL_ROUTES)
def test_paytrail_never_fails_on_signed_garbage(
    client: Client, accounts: World, route: str
) -> None:
    url = reverse(route, args=[accounts.checkout.pk])

    @given(params=paytrail_params)
    @example(
        params={
            "checkout-account": PAYTRAIL_ACCOUNT,
            "checkout-algorithm": "sha256",
            "checkout-status": "ok",
            "checkout-transaction-id": "t",
            "checkout-stamp": "s",
            "checkout-amount": "²",
        }
    )
    @example(
        params={
            "checkout-account": PAYTRAIL_ACCOUNT,
            "checkout-algorithm": "sha256",
            "checkout-status": "ok",
            "checkout-transaction-id": "t\x00",
            "checkout-stamp": "s\x00",
        }
    )
    @FUZZ
    def fuzz(params: dict[str, str]) -> None:
        signed = {
            **params,
            "signature": paytrail.calculate_signature(
                params, "", PAYTRAIL_SECRET, params["checkout-algorithm"]
            ),
        }
        never_fails(lambda: client.get(url, signed))

    fuzz()


@given(stamp=st.text(min_size=1, max_size=40), paid=st.text(min_size=1, max_size=40))
@example(stamp="s\x00", paid="1")
@example(stamp="s", paid="\x00")
@FUZZ
def test_epassi_never_fails_on_signed_garbage(
    client: Client, accounts: World, stamp: str, paid: str
) -> None:
    url = reverse("payments:epassi-return", args=[accounts.checkout.pk])
    form = {"STAMP": stamp, "PAID": paid, "MAC": epassi.mac(stamp, paid, EPASSI_KEY)}
    never_fails(lambda: client.post(url, form))
