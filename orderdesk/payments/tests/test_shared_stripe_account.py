"""Two checkouts of one merchant on one Stripe account (issue 18, finding 2): Stripe sends each
event to both endpoints, in either order, and each checkout applies what belongs to it."""

from __future__ import annotations

import json

import pytest
import stripe
from django.test import Client
from django.urls import reverse

from orderdesk.orders.models import OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import PaymentStatus, ProviderAccount, ProviderNotification
from orderdesk.payments.tests.test_notifications import WHSEC, processing, stripe_event
from orderdesk.testing import factories
from orderdesk.testing.factories import World


def deliver(client: Client, checkout: Checkout, event: dict[str, object]) -> dict[str, object]:
    raw = json.dumps(event)
    response = client.post(
        reverse("payments:stripe-webhook", args=[checkout.pk]),
        raw,
        content_type="application/json",
        headers={"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw, WHSEC)},
    )
    assert response.status_code == 200
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.parametrize("other_endpoint_first", [True, False])
def test_both_checkouts_payments_end_paid_whichever_endpoint_hears_first(
    client: Client, world: World, other_endpoint_first: bool
) -> None:
    second, _key = factories.checkout(world.org)
    for checkout in (world.checkout, second):
        ProviderAccount.objects.create(
            checkout=checkout,
            provider="stripe",
            account_id="acct_shared",
            secret_key="sk_test_shared",
            webhook_secret=WHSEC,
        )
    order, attempt = processing(world, "stripe")
    event = stripe_event("evt_shared_1", "payment_intent.succeeded", attempt)
    endpoints = [second, world.checkout] if other_endpoint_first else [world.checkout, second]

    answers = [deliver(client, checkout, event) for checkout in endpoints]
    replay = deliver(client, world.checkout, event)

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED  # paid; no post-purchase actions
    assert attempt.status == PaymentStatus.SUCCEEDED
    assert [a["replay"] for a in answers] == [False, False]
    assert replay["replay"] is True
    outcomes = dict(
        ProviderNotification.objects.filter(event_id="evt_shared_1").values_list(
            "checkout_id", "outcome"
        )
    )
    assert outcomes == {world.checkout.pk: "payment succeeded", second.pk: "unknown payment"}
