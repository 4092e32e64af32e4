"""Provider notifications through their endpoints: verified, stored once, applied once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe
from django.test import Client
from django.urls import reverse

from orderdesk.orders.models import Order, OrderEvent, OrderStatus
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    ProviderAccount,
    ProviderNotification,
)
from orderdesk.payments.providers import epassi, paytrail
from orderdesk.testing import factories
from orderdesk.testing.factories import World

WHSEC = "whsec_unit_test"
PAYTRAIL_SECRET = "SAIPPUAKAUPPIAS"
EPASSI_KEY = "epassi-unit-key"


@pytest.fixture
def accounts(world: World) -> None:
    for provider, account_id, secret, webhook in [
        ("stripe", "", "sk_test_unit", WHSEC),
        ("paytrail", "375917", PAYTRAIL_SECRET, ""),
        ("epassi", "77190", EPASSI_KEY, ""),
    ]:
        ProviderAccount.objects.create(
            checkout=world.checkout,
            provider=provider,
            account_id=account_id,
            secret_key=secret,
            webhook_secret=webhook,
        )


def processing(world: World, provider: str) -> tuple[Order, PaymentAttempt]:
    order = factories.order(world, status=OrderStatus.PROCESSING, provider=provider)
    return order, order.payment_attempts.get()


def snapshot(order: Order) -> tuple[str, int, list[str]]:
    order.refresh_from_db()
    attempts = list(order.payment_attempts.values_list("status", flat=True))
    return order.status, OrderEvent.objects.filter(order=order).count(), attempts


# Stripe


def stripe_event(
    event_id: str, type: str, attempt: PaymentAttempt, **changes: Any
) -> dict[str, Any]:
    obj = {
        "id": attempt.provider_reference,
        "object": "payment_intent",
        "amount": attempt.amount_minor,
        "amount_received": attempt.amount_minor,
        "currency": attempt.currency.lower(),
        "metadata": {"orderdesk_stamp": attempt.stamp},
        "payment_method_types": ["card"],
        **changes,
    }
    return {"id": event_id, "object": "event", "type": type, "data": {"object": obj}}


def post_stripe(
    client: Client, world: World, body: dict[str, Any] | bytes, *, secret: str = WHSEC
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret)
    return client.post(
        reverse("payments:stripe-webhook", args=[world.checkout.pk]),
        raw,
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )


@pytest.mark.usefixtures("accounts")
def test_it_marks_the_order_paid_once_on_a_stripe_success(client: Client, world: World) -> None:
    order, attempt = processing(world, "stripe")
    event = stripe_event("evt_1", "payment_intent.succeeded", attempt)

    response = post_stripe(client, world, event)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED  # no post-purchase actions configured
    attempt.refresh_from_db()
    assert attempt.status == PaymentStatus.SUCCEEDED
    before = snapshot(order)

    replay = post_stripe(client, world, event)

    assert replay.status_code == 200
    assert replay.json()["replay"] is True
    assert snapshot(order) == before
    assert ProviderNotification.objects.filter(provider="stripe", event_id="evt_1").count() == 1


@pytest.mark.usefixtures("accounts")
def test_it_ignores_a_late_stripe_failure_after_success(client: Client, world: World) -> None:
    order, attempt = processing(world, "stripe")
    post_stripe(client, world, stripe_event("evt_ok", "payment_intent.succeeded", attempt))
    before = snapshot(order)

    late = stripe_event(
        "evt_late",
        "payment_intent.payment_failed",
        attempt,
        last_payment_error={"message": "Your card was declined."},
    )
    response = post_stripe(client, world, late)

    assert response.status_code == 200
    assert snapshot(order) == before


@pytest.mark.usefixtures("accounts")
def test_it_sends_the_order_back_to_in_progress_on_a_stripe_failure(
    client: Client, world: World
) -> None:
    order, attempt = processing(world, "stripe")
    event = stripe_event(
        "evt_fail",
        "payment_intent.payment_failed",
        attempt,
        last_payment_error={"message": "Your card was declined."},
    )

    assert post_stripe(client, world, event).status_code == 200

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert attempt.status == PaymentStatus.FAILED
    assert attempt.failure_message == "Your card was declined."


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (None, "whsec_wrong"),
        (b"not json at all", WHSEC),
        (b'{"id": "evt_x", "type": "payment_intent.succeeded"}', WHSEC),
        (b'{"id": "evt_x", "type": "x", "data": {"object": []}}', WHSEC),
    ],
    ids=["bad signature", "not json", "no data", "object not an object"],
)
def test_it_rejects_bad_stripe_notifications_and_changes_nothing(
    client: Client, world: World, body: bytes | None, secret: str
) -> None:
    order, attempt = processing(world, "stripe")
    before = snapshot(order)
    payload = (
        body if body is not None else stripe_event("evt_2", "payment_intent.succeeded", attempt)
    )

    response = post_stripe(client, world, payload, secret=secret)

    assert response.status_code == 400
    assert snapshot(order) == before
    assert not ProviderNotification.objects.exists()


@pytest.mark.usefixtures("accounts")
def test_it_rejects_an_unsigned_stripe_notification(client: Client, world: World) -> None:
    order, attempt = processing(world, "stripe")
    response = client.post(
        reverse("payments:stripe-webhook", args=[world.checkout.pk]),
        json.dumps(stripe_event("evt_3", "payment_intent.succeeded", attempt)),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert snapshot(order)[0] == OrderStatus.PROCESSING


@pytest.mark.usefixtures("accounts")
def test_it_records_a_notification_for_an_unknown_order(client: Client, world: World) -> None:
    event = {
        "id": "evt_unknown",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_nobody", "amount": 100, "currency": "eur", "metadata": {}}},
    }

    response = post_stripe(client, world, event)

    assert response.status_code == 200
    notification = ProviderNotification.objects.get(event_id="evt_unknown")
    assert notification.order is None
    assert notification.outcome == "unknown payment"


@pytest.mark.usefixtures("accounts")
def test_it_records_an_amount_mismatch_on_the_timeline(client: Client, world: World) -> None:
    order, attempt = processing(world, "stripe")
    event = stripe_event(
        "evt_less", "payment_intent.succeeded", attempt, amount=100, amount_received=100
    )

    assert post_stripe(client, world, event).status_code == 200

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    mismatch = order.events.get(type="payment_mismatch")
    assert "expected" in mismatch.message
    assert mismatch.actor_type == "provider"


@pytest.mark.usefixtures("accounts")
def test_it_rejects_notifications_of_another_checkouts_payment(
    client: Client, world: World
) -> None:
    order, attempt = processing(world, "stripe")
    ProviderAccount.objects.create(
        checkout=world.other_checkout, provider="stripe", secret_key="sk_x", webhook_secret=WHSEC
    )
    event = stripe_event("evt_other", "payment_intent.succeeded", attempt)
    raw = json.dumps(event)
    response = client.post(
        reverse("payments:stripe-webhook", args=[world.other_checkout.pk]),
        raw,
        content_type="application/json",
        headers={"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw, WHSEC)},
    )
    assert response.status_code == 200
    assert ProviderNotification.objects.get().outcome == "unknown payment"
    assert snapshot(order)[0] == OrderStatus.PROCESSING


def test_it_answers_400_when_the_checkout_has_no_account(client: Client, world: World) -> None:
    response = client.post(
        reverse("payments:stripe-webhook", args=[world.checkout.pk]),
        b"{}",
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert response.status_code == 400


# Paytrail


def paytrail_query(attempt: PaymentAttempt, status: str = "ok", **changes: str) -> dict[str, str]:
    query = {
        "checkout-account": "375917",
        "checkout-algorithm": "sha256",
        "checkout-amount": str(attempt.amount_minor),
        "checkout-stamp": attempt.stamp,
        "checkout-reference": str(attempt.order.number),
        "checkout-transaction-id": attempt.provider_reference,
        "checkout-status": status,
        "checkout-provider": "osuuspankki",
        **changes,
    }
    query["signature"] = paytrail.calculate_signature(query, "", PAYTRAIL_SECRET)
    return query


@pytest.mark.usefixtures("accounts")
def test_it_applies_a_paytrail_callback_and_then_the_redirect_as_a_replay(
    client: Client, world: World
) -> None:
    order, attempt = processing(world, "paytrail")
    query = paytrail_query(attempt)

    callback = client.get(
        reverse("payments:paytrail-callback-success", args=[world.checkout.pk]), query
    )
    assert callback.status_code == 200
    before = snapshot(order)
    assert before[0] == OrderStatus.COMPLETED

    redirect = client.get(reverse("payments:paytrail-success", args=[world.checkout.pk]), query)

    assert redirect.status_code == 200
    assert b"your payment was received" in redirect.content
    assert f"Order #{order.number}".encode() in redirect.content
    assert snapshot(order) == before


@pytest.mark.usefixtures("accounts")
def test_a_paytrail_return_goes_on_to_the_checkouts_own_page(client: Client, world: World) -> None:
    order, attempt = processing(world, "paytrail")
    attempt.return_url = "https://shop.example.com/thanks?lang=fi"
    attempt.save(update_fields=["return_url"])

    paid = client.get(
        reverse("payments:paytrail-success", args=[world.checkout.pk]), paytrail_query(attempt)
    )

    assert paid.status_code == 302
    assert paid["Location"] == "https://shop.example.com/thanks?lang=fi&redirect_status=succeeded"
    assert snapshot(order)[0] == OrderStatus.COMPLETED
    # A return that does not verify shows our page, never the shop's.
    tampered = paytrail_query(attempt, status="fail")
    tampered["checkout-amount"] = "1"
    refused = client.get(reverse("payments:paytrail-cancel", args=[world.checkout.pk]), tampered)
    assert refused.status_code == 400


@pytest.mark.usefixtures("accounts")
def test_a_cancelled_paytrail_payment_returns_as_failed(client: Client, world: World) -> None:
    order, attempt = processing(world, "paytrail")
    attempt.return_url = "https://shop.example.com/thanks"
    attempt.save(update_fields=["return_url"])

    cancelled = client.get(
        reverse("payments:paytrail-cancel", args=[world.checkout.pk]),
        paytrail_query(attempt, status="fail"),
    )

    assert cancelled["Location"] == "https://shop.example.com/thanks?redirect_status=failed"
    assert snapshot(order)[0] == OrderStatus.IN_PROGRESS


@pytest.mark.usefixtures("accounts")
def test_it_rejects_a_tampered_paytrail_callback(client: Client, world: World) -> None:
    order, attempt = processing(world, "paytrail")
    query = paytrail_query(attempt)
    query["checkout-amount"] = "1"
    before = snapshot(order)

    callback = client.get(
        reverse("payments:paytrail-callback-success", args=[world.checkout.pk]), query
    )
    redirect = client.get(reverse("payments:paytrail-success", args=[world.checkout.pk]), query)

    assert callback.status_code == 400
    assert redirect.status_code == 400
    assert snapshot(order) == before
    assert not ProviderNotification.objects.exists()


@pytest.mark.usefixtures("accounts")
def test_it_sends_the_order_back_on_a_paytrail_cancel(client: Client, world: World) -> None:
    order, attempt = processing(world, "paytrail")

    response = client.get(
        reverse("payments:paytrail-cancel", args=[world.checkout.pk]),
        paytrail_query(attempt, "fail"),
    )

    assert response.status_code == 200
    assert b"not completed" in response.content
    assert snapshot(order)[0] == OrderStatus.IN_PROGRESS


# Epassi


@pytest.mark.usefixtures("accounts")
def test_it_applies_a_signed_epassi_return_once(client: Client, world: World) -> None:
    order, attempt = processing(world, "epassi")
    form = {
        "STAMP": attempt.stamp,
        "PAID": "98765",
        "MAC": epassi.mac(attempt.stamp, "98765", EPASSI_KEY),
    }
    url = reverse("payments:epassi-return", args=[world.checkout.pk])

    assert client.post(url, form).status_code == 200
    before = snapshot(order)
    assert before[0] == OrderStatus.COMPLETED
    assert client.post(url, form).status_code == 200
    assert snapshot(order) == before


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    "form",
    [{"STAMP": "s", "PAID": "1", "MAC": "0" * 128}, {"STAMP": "s"}, {}],
    ids=["bad mac", "missing fields", "empty"],
)
def test_it_rejects_bad_epassi_returns(client: Client, world: World, form: dict[str, str]) -> None:
    order, attempt = processing(world, "epassi")
    before = snapshot(order)
    form = {k: (attempt.stamp if k == "STAMP" else v) for k, v in form.items()}

    response = client.post(reverse("payments:epassi-return", args=[world.checkout.pk]), form)

    assert response.status_code == 400
    assert snapshot(order) == before


@pytest.mark.usefixtures("accounts")
def test_it_applies_an_epassi_cancel_only_with_our_token(client: Client, world: World) -> None:
    order, attempt = processing(world, "epassi")
    forged = reverse("payments:epassi-cancel", args=[world.checkout.pk, attempt.stamp, "0" * 32])
    assert client.get(forged).status_code == 400
    assert snapshot(order)[0] == OrderStatus.PROCESSING

    token = epassi.return_token(attempt.stamp)
    url = reverse("payments:epassi-cancel", args=[world.checkout.pk, attempt.stamp, token])

    assert client.get(url, {"stamp": attempt.stamp}).status_code == 200
    assert snapshot(order)[0] == OrderStatus.IN_PROGRESS


# Garbage found by test_webhook_fuzz: each was a 500 before.


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt_m", "type": "payment_intent.succeeded", "data": {"object": {"metadata": []}}}',
        b'{"id": "evt_e", "type": "payment_intent.payment_failed",'
        b' "data": {"object": {"last_payment_error": "declined"}}}',
        b'{"id": "evt_p", "type": "payment_intent.succeeded",'
        b' "data": {"object": {"payment_method_types": {"a": 1}}}}',
        b'{"id": "evt_\\u0000", "type": "x", "data": {"object": {}}}',
        b'{"id": "evt_s", "type": "x", "data": {"object": {"k": "\\ud800"}}}',
        b'{"id": "evt_i", "type": "charge.refunded", "data": {"object": {"amount": Infinity}}}',
        b'{"id": "evt_n", "type": "x", "data": {"object": {"k": 1e999}}}',
    ],
    ids=["metadata list", "error text", "methods object", "NUL", "surrogate", "Infinity", "1e999"],
)
def test_it_rejects_signed_but_malformed_stripe_events(
    client: Client, world: World, body: bytes
) -> None:
    order, _attempt = processing(world, "stripe")
    before = snapshot(order)

    response = post_stripe(client, world, body)

    assert response.status_code == 400
    assert (
        "Malformed Stripe event" in response.json()["error"]
        or "cannot be stored" in (response.json()["error"])
    )
    assert snapshot(order) == before
    assert not ProviderNotification.objects.exists()


@pytest.mark.usefixtures("accounts")
def test_it_rejects_non_ascii_signatures(client: Client, world: World) -> None:
    order, attempt = processing(world, "stripe")
    before = snapshot(order)

    stripe_response = client.post(
        reverse("payments:stripe-webhook", args=[world.checkout.pk]),
        b"{}",
        content_type="application/json",
        headers={"Stripe-Signature": "t=1,v1=\u00e4"},
    )
    paytrail_response = client.get(
        reverse("payments:paytrail-callback-success", args=[world.checkout.pk]),
        {"checkout-algorithm": "sha256", "signature": "\u00e4"},
    )
    epassi_response = client.post(
        reverse("payments:epassi-return", args=[world.checkout.pk]),
        {"STAMP": attempt.stamp, "PAID": "1", "MAC": "\u00e4"},
    )
    epassi_link = client.get(
        reverse("payments:epassi-cancel", args=[world.checkout.pk, attempt.stamp, "\u00e4"])
    )

    assert stripe_response.status_code == 400
    assert paytrail_response.status_code == 400
    assert epassi_response.status_code == 400
    assert epassi_link.status_code == 400
    assert snapshot(order) == before
    assert not ProviderNotification.objects.exists()


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    "changes",
    [{"checkout-amount": "\u00b2"}, {"checkout-amount": "12e3"}, {"checkout-stamp": "s\x00"}],
    ids=["superscript digit", "not digits", "NUL"],
)
def test_it_rejects_signed_but_malformed_paytrail_callbacks(
    client: Client, world: World, changes: dict[str, str]
) -> None:
    order, attempt = processing(world, "paytrail")
    before = snapshot(order)

    response = client.get(
        reverse("payments:paytrail-callback-success", args=[world.checkout.pk]),
        paytrail_query(attempt, **changes),
    )

    assert response.status_code == 400
    assert snapshot(order) == before
    assert not ProviderNotification.objects.exists()
