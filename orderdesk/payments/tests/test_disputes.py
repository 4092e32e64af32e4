"""Payment disputes (issue 12, finding 3): opened, won, lost, through the Stripe sandbox over
HTTP, and Stripe's published dispute fed to the adapter unchanged."""

from __future__ import annotations

import json

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from orderdesk.orders.events import EventType
from orderdesk.orders.models import AttentionReason, Order, OrderStatus, attention_reasons_at
from orderdesk.payments.models import Dispute, DisputeStatus, PaymentAttempt
from orderdesk.payments.providers.stripe import parse_event
from orderdesk.payments.services import receive_notification
from orderdesk.payments.tests.stripe_contract import published
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.sandboxes import deliveries, store
from orderdesk.testing.factories import World


def _post(name: str, *args: str, **data: str) -> httpx.Response:
    response = httpx.post(settings.SITE_URL + reverse(name, args=args), data=data)
    assert response.status_code == 200, response.text
    return response


def open_dispute(attempt: PaymentAttempt, **data: str) -> str:
    dispute = _post(
        "sandboxes:stripe-dispute-open", payment_intent=attempt.provider_reference, **data
    ).json()
    deliveries.deliver_pending()
    return str(dispute["id"])


def decide(dispute_id: str, status: str) -> None:
    _post("sandboxes:stripe-dispute-update", dispute_id, status=status)
    deliveries.deliver_pending()


def reasons(order: Order) -> list[AttentionReason]:
    return attention_reasons_at(Order.objects.get(pk=order.pk), timezone.now())


def timeline(order: Order, *types: str) -> list[str]:
    return list(
        order.events.filter(type__in=types).order_by("pk").values_list("message", flat=True)
    )


def test_an_opened_dispute_is_recorded_and_requires_attention(sandboxed: World) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)

    dispute_id = open_dispute(attempt, reason="product_not_received", amount="1500")

    dispute = Dispute.objects.get()
    assert (dispute.order_id, dispute.payment_attempt_id) == (order.pk, attempt.pk)
    assert (dispute.provider_reference, dispute.amount_minor, dispute.currency) == (
        dispute_id,
        1500,
        order.currency,
    )
    assert (dispute.reason, dispute.status) == ("product_not_received", "needs_response")
    assert dispute.is_open
    assert dispute.evidence_due_by is not None
    assert dispute.funds_withdrawn_minor == 1500
    order.refresh_from_db()
    assert order.dispute_open
    assert order.status == OrderStatus.COMPLETED  # the books are the card network's, not ours
    assert reasons(order) == [AttentionReason.DISPUTE]
    assert (
        Order.objects.requiring_attention(timezone.now(), reason=AttentionReason.DISPUTE)
        .filter(pk=order.pk)
        .exists()
    )
    opened, withdrawn = timeline(order, EventType.DISPUTE_OPENED, EventType.DISPUTE_FUNDS)
    assert opened.startswith(f"Stripe dispute {dispute_id} opened for €15.00, reason product_not")
    assert withdrawn == f"Stripe withdrew €15.00 from the balance for Stripe dispute {dispute_id}"


def test_a_won_dispute_closes_and_gives_the_money_back(sandboxed: World) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    dispute_id = open_dispute(attempt)

    decide(dispute_id, "under_review")
    order.refresh_from_db()
    assert order.dispute_open  # still open while the network reviews it
    decide(dispute_id, "won")

    dispute = Dispute.objects.get()
    assert dispute.status == DisputeStatus.WON
    assert dispute.closed_at is not None
    assert dispute.funds_reinstated_minor == dispute.amount_minor
    order.refresh_from_db()
    assert not order.dispute_open
    assert reasons(order) == []
    assert timeline(order, EventType.DISPUTE_UPDATED) == [
        f"Stripe dispute {dispute_id} is now under_review"
    ]
    assert timeline(order, EventType.DISPUTE_CLOSED) == [f"Stripe dispute {dispute_id} closed: won"]


def test_a_lost_dispute_closes_and_says_the_money_stays_with_the_customer(
    sandboxed: World,
) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    dispute_id = open_dispute(attempt)

    decide(dispute_id, "lost")

    dispute = Dispute.objects.get()
    assert dispute.status == DisputeStatus.LOST
    assert dispute.funds_reinstated_minor == 0
    order.refresh_from_db()
    assert not order.dispute_open
    amount = f"€{order.total_minor / 100:.2f}"
    assert timeline(order, EventType.DISPUTE_CLOSED) == [
        f"Stripe dispute {dispute_id} closed: lost ({amount} stays with the customer)"
    ]


def test_an_older_event_arriving_late_does_not_reopen_a_closed_dispute(sandboxed: World) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    dispute_id = open_dispute(attempt)
    decide(dispute_id, "won")
    created = next(
        e for e in store.find("stripe", "event") if e["type"] == "charge.dispute.created"
    )
    late = dict(created, id="evt_late_copy")
    late["created"] = created["created"] - 60

    receive_notification(
        checkout=sandboxed.checkout, provider="stripe", event=parse_event(json.dumps(late).encode())
    )

    assert Dispute.objects.get().status == DisputeStatus.WON
    order.refresh_from_db()
    assert not order.dispute_open


def test_the_adapter_reads_stripes_published_dispute() -> None:
    event = published("event") | {
        "type": "charge.dispute.created",
        "data": {"object": published("dispute")},
    }

    parsed = parse_event(json.dumps(event).encode())

    dispute = published("dispute")
    assert parsed.kind == "dispute"
    assert parsed.dispute_reference == dispute["id"]
    assert parsed.charge_reference == dispute["charge"]
    assert parsed.payment_reference == ""  # Stripe's example names the charge only
    assert (parsed.dispute_status, parsed.dispute_reason) == (dispute["status"], dispute["reason"])
    assert parsed.amount_minor == dispute["amount"]
    assert parsed.evidence_due_by == dispute["evidence_details"]["due_by"]


@pytest.mark.parametrize("status", list(DisputeStatus.OPEN))
def test_every_open_status_is_open(status: str) -> None:
    assert Dispute(status=status).is_open
    assert not Dispute(status="won").is_open
