"""Signature schemes of each provider, against documented vectors and the official SDK."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import stripe

from orderdesk.payments.providers import epassi, paytrail
from orderdesk.payments.providers import stripe as stripe_adapter
from orderdesk.payments.providers.base import InvalidNotification

PAYTRAIL_SECRET = "SAIPPUAKAUPPIAS"


def test_it_reproduces_paytrails_create_payment_vector() -> None:
    headers = {
        "checkout-account": "375917",
        "checkout-algorithm": "sha256",
        "checkout-method": "POST",
        "checkout-nonce": "564635208570151",
        "checkout-timestamp": "2018-07-06T10:01:31.904Z",
    }
    body = {
        "stamp": "unique-identifier-for-merchant",
        "reference": "3759170",
        "amount": 1525,
        "currency": "EUR",
        "language": "FI",
        "items": [
            {
                "unitPrice": 1525,
                "units": 1,
                "vatPercentage": 25.5,
                "productCode": "#1234",
                "deliveryDate": "2018-09-01",
            }
        ],
        "customer": {"email": "test.customer@example.com"},
        "redirectUrls": {
            "success": "https://ecom.example.com/cart/success",
            "cancel": "https://ecom.example.com/cart/cancel",
        },
    }
    text = json.dumps(body, separators=(",", ":"))
    assert (
        paytrail.calculate_signature(headers, text, PAYTRAIL_SECRET)
        == "9a4a7735279de4c99268e4566a5526ae887e73e6e58f2918cb2309ccac366129"
    )


def test_it_reproduces_paytrails_get_payment_vector() -> None:
    headers = {
        "checkout-account": "375917",
        "checkout-algorithm": "sha256",
        "checkout-method": "GET",
        "checkout-nonce": "87ac41e1-e6e6-4789-b8e0-c83930cfc447",
        "checkout-timestamp": "2019-11-01T08:48:50.832Z",
        "checkout-transaction-id": "681538c4-fc84-11e9-83bc-2ffcef4c3453",
    }
    assert (
        paytrail.calculate_signature(headers, "", PAYTRAIL_SECRET)
        == "4d84e3aedaa847b23e672ff3bc9c57ae5d1c1e84aec251ce39914eaf250bb8b2"
    )


REDIRECT_QUERY = {
    "checkout-account": "375917",
    "checkout-algorithm": "sha256",
    "checkout-amount": "2964",
    "checkout-stamp": "15336332710015",
    "checkout-reference": "192387192837195",
    "checkout-transaction-id": "4b300af6-9a22-11e8-9184-abb6de7fd2d0",
    "checkout-status": "ok",
    "checkout-provider": "nordea",
    "signature": "b2d3ecdda2c04563a4638fcade3d4e77dfdc58829b429ad2c2cb422d0fc64080",
}


def test_it_reproduces_paytrails_redirect_vector() -> None:
    assert (
        paytrail.calculate_signature(REDIRECT_QUERY, "", PAYTRAIL_SECRET)
        == REDIRECT_QUERY["signature"]
    )
    paytrail.verify_query(REDIRECT_QUERY, PAYTRAIL_SECRET, "375917")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"checkout-amount": "1"}, "signature does not match"),
        ({"signature": "0" * 64}, "signature does not match"),
        ({"checkout-algorithm": "md5"}, "unknown algorithm"),
    ],
)
def test_it_rejects_a_tampered_paytrail_query(change: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidNotification, match=reason):
        paytrail.verify_query({**REDIRECT_QUERY, **change}, PAYTRAIL_SECRET, "375917")


def test_it_rejects_a_paytrail_query_for_another_merchant() -> None:
    with pytest.raises(InvalidNotification, match="another merchant"):
        paytrail.verify_query(REDIRECT_QUERY, PAYTRAIL_SECRET, "695861")


def test_it_signs_paytrail_sha512_when_asked() -> None:
    query = {k: v for k, v in REDIRECT_QUERY.items() if k != "signature"}
    query["checkout-algorithm"] = "sha512"
    query["signature"] = paytrail.calculate_signature(query, "", PAYTRAIL_SECRET, "sha512")
    assert len(query["signature"]) == 128
    paytrail.verify_query(query, PAYTRAIL_SECRET, "375917")


STRIPE_SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_test","object":"event"}'


def test_it_matches_the_stripe_vector_of_providers_md() -> None:
    header = "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724"
    stripe_adapter.verify_signature(BODY, header, STRIPE_SECRET, now=1700000000)


def test_it_accepts_headers_made_by_the_official_sdk() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), STRIPE_SECRET)
    stripe_adapter.verify_signature(BODY, header, STRIPE_SECRET)
    # And the SDK's own verifier agrees with ours on the same header.
    assert stripe.WebhookSignature.verify_header(BODY, header, STRIPE_SECRET, 300)


def test_it_accepts_any_of_several_v1_signatures() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), STRIPE_SECRET)
    stripe_adapter.verify_signature(BODY, header + ",v1=" + "0" * 64, STRIPE_SECRET)
    t, v1 = header.split(",")
    stripe_adapter.verify_signature(BODY, f"{t},v1={'0' * 64},{v1},v0=abc", STRIPE_SECRET)


@pytest.mark.parametrize(
    ("body", "secret", "age", "reason"),
    [
        (BODY.replace(b"evt_test", b"evt_evil"), STRIPE_SECRET, 0, "does not match"),
        (BODY, "whsec_other", 0, "does not match"),
        (BODY, STRIPE_SECRET, 301, "too old"),
    ],
    ids=["tampered body", "wrong secret", "stale timestamp"],
)
def test_it_rejects_bad_stripe_signatures(body: bytes, secret: str, age: int, reason: str) -> None:
    header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), STRIPE_SECRET, timestamp=int(time.time()) - age
    )
    with pytest.raises(InvalidNotification, match=reason):
        stripe_adapter.verify_signature(body, header, secret)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "t=1700000000", "v1=" + "0" * 64])
def test_it_rejects_malformed_stripe_headers(header: str) -> None:
    with pytest.raises(InvalidNotification):
        stripe_adapter.verify_signature(BODY, header, STRIPE_SECRET)


def test_it_computes_epassi_macs_as_plain_sha512() -> None:
    expected = hashlib.sha512(b"order-1&77190&12.50&secretkey").hexdigest()
    assert epassi.mac("order-1", "77190", "12.50", "secretkey") == expected
    assert epassi.euros(1250) == "12.50"
    assert epassi.euros(5) == "0.05"
    assert epassi.euros(100000) == "1000.00"
