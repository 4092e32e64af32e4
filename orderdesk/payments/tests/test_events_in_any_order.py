"""Provider events applied in whatever order they arrive (issue 18, finding 1): every
permutation of an order's notifications ends in the same state, with its actions queued once.

Stripe does not promise the order of its events: a refund made in the dashboard right after
the payment can arrive before `payment_intent.succeeded`. Paytrail calls back and redirects
the customer, each possibly more than once and with a pending status first; Epassi's return
and a cancel link can both be used.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, Refund
from orderdesk.payments.providers import epassi
from orderdesk.payments.tests.test_notifications import (  # noqa: F401 (accounts is a fixture)
    EPASSI_KEY,
    accounts,
    paytrail_query,
    post_stripe,
    processing,
    stripe_event,
)
from orderdesk.testing.factories import World

pytestmark = pytest.mark.usefixtures("accounts")

Deliver = Callable[[Client, World, PaymentAttempt], Any]


def with_an_action(order: Order) -> None:
    ActionSnapshot.objects.create(
        order=order,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.WEBHOOK,
        name="Notify CRM",
        settings={"url": "http://127.0.0.1:9/crm"},
    )


def end_state(order: Order) -> dict[str, Any]:
    order.refresh_from_db()
    attempt = order.payment_attempts.get()
    return {
        "status": order.status,
        "refunded": order.refunded_minor,
        "attempt": (attempt.status, attempt.refunded_minor),
        "refunds": list(Refund.objects.filter(order=order).values_list("status", "amount_minor")),
        "runs": ActionRun.objects.filter(snapshot__order=order).count(),
        "paid_at_set": order.paid_at is not None,
    }


def end_states(
    client: Client, world: World, provider: str, events: list[Deliver], *, replay: bool = False
) -> dict[tuple[str, ...], dict[str, Any]]:
    """A fresh Processing order per permutation of `events`, each delivered (and, with
    `replay`, delivered again), and the state each order ends in, by the order of delivery."""
    states = {}
    for order_of_events in permutations(events):
        order, attempt = processing(world, provider)
        with_an_action(order)
        for deliver in order_of_events:
            assert deliver(client, world, attempt).status_code == 200
        if replay:
            for deliver in order_of_events:  # every event again: replays change nothing
                deliver(client, world, attempt)
        states[tuple(d.__name__ for d in order_of_events)] = end_state(order)
    return states


PAID_ONCE = {
    "status": OrderStatus.PAID,
    "refunded": 0,
    "attempt": ("succeeded", 0),
    "refunds": [],
    "runs": 1,
    "paid_at_set": True,
}


# Stripe: the payment's success, a refund made in the dashboard, and the charge's refunded total.


def stripe_success(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    event = stripe_event(f"evt_ok_{attempt.pk}", "payment_intent.succeeded", attempt)
    return post_stripe(client, world, event)


def stripe_dashboard_refund(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    refund = {
        "id": f"re_dash_{attempt.pk}",
        "object": "refund",
        "amount": 2000,
        "currency": attempt.currency.lower(),
        "payment_intent": attempt.provider_reference,
        "charge": f"ch_{attempt.pk}",
        "metadata": {},
        "status": "succeeded",
    }
    body = {
        "id": f"evt_re_{attempt.pk}",
        "object": "event",
        "type": "refund.created",
        "data": {"object": refund},
    }
    return post_stripe(client, world, body)


def stripe_charge_refunded(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    charge = {
        "id": f"ch_{attempt.pk}",
        "object": "charge",
        "amount": attempt.amount_minor,
        "amount_refunded": 2000,
        "currency": attempt.currency.lower(),
        "payment_intent": attempt.provider_reference,
        "metadata": {},
    }
    body = {
        "id": f"evt_ch_{attempt.pk}",
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": charge},
    }
    return post_stripe(client, world, body)


STRIPE: list[Deliver] = [stripe_success, stripe_dashboard_refund, stripe_charge_refunded]


def test_stripe_events_in_every_order_end_paid_then_refunded(client: Client, world: World) -> None:
    states = end_states(client, world, "stripe", STRIPE, replay=True)

    expected = {
        "status": OrderStatus.PARTIALLY_REFUNDED,
        "refunded": 2000,
        "attempt": ("partially_refunded", 2000),
        "refunds": [("succeeded", 2000)],
        "runs": 1,
        "paid_at_set": True,
    }
    assert states == {key: expected for key in states}


# Paytrail: a pending callback, the success callback and the customer's redirect.


def paytrail_pending(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    url = reverse("payments:paytrail-callback-success", args=[world.checkout.pk])
    return client.get(url, paytrail_query(attempt, "pending"))


def paytrail_ok(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    url = reverse("payments:paytrail-callback-success", args=[world.checkout.pk])
    return client.get(url, paytrail_query(attempt, "ok"))


def paytrail_redirect(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    url = reverse("payments:paytrail-success", args=[world.checkout.pk])
    return client.get(url, paytrail_query(attempt, "ok"))


def test_paytrail_notifications_in_every_order_end_paid_once(client: Client, world: World) -> None:
    states = end_states(
        client, world, "paytrail", [paytrail_pending, paytrail_ok, paytrail_redirect]
    )

    assert states == {key: PAID_ONCE for key in states}


# Epassi: the signed return of a payment and the customer's cancel link.


def epassi_return(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    form = {
        "STAMP": attempt.stamp,
        "PAID": f"9{attempt.pk}",
        "MAC": epassi.mac(attempt.stamp, f"9{attempt.pk}", EPASSI_KEY),
    }
    return client.post(reverse("payments:epassi-return", args=[world.checkout.pk]), form)


def epassi_cancel(client: Client, world: World, attempt: PaymentAttempt) -> Any:
    token = epassi.return_token(attempt.stamp)
    url = reverse("payments:epassi-cancel", args=[world.checkout.pk, attempt.stamp, token])
    return client.get(url, {"stamp": attempt.stamp})


def test_an_epassi_payment_ends_paid_whether_its_cancel_link_came_first_or_last(
    client: Client, world: World
) -> None:
    states = end_states(client, world, "epassi", [epassi_return, epassi_cancel])

    assert states == {key: PAID_ONCE for key in states}
