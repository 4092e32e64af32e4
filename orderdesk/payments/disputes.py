"""Payment disputes (chargebacks and inquiries) as the provider reports them (issue 12).

Each Stripe `charge.dispute.*` event updates one `Dispute` row of the order whose payment it
names (its PaymentIntent, or its charge), writes the timeline, and keeps the order's
`dispute_open` flag (Requires attention) true while any of its disputes is open. Events may
arrive out of order: one older than the newest applied does not set the status back.

A dispute does not touch the order's refund books: money a lost dispute took is the card
network's chargeback, not a refund Orderdesk made; the timeline and the panel show it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import Dispute, DisputeStatus, PaymentAttempt
from orderdesk.payments.providers.base import ProviderEvent

# The funds events of a dispute, by the last part of their type: what moved, and which way.
FUNDS_MOVED = {
    "funds_withdrawn": "withdrew %(amount)s from",
    "funds_reinstated": "reinstated %(amount)s to",
}


def _moment(unix: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(unix, dt.UTC) if unix is not None else None


def _attempt(event: ProviderEvent, checkout: Checkout, provider: str) -> PaymentAttempt | None:
    match = Q(pk__in=[])
    if event.payment_reference:
        match |= Q(provider_reference=event.payment_reference)
    if event.charge_reference:
        match |= Q(charge_reference=event.charge_reference)
    return (
        PaymentAttempt.objects.filter(match, provider=provider, order__checkout=checkout)
        .select_related("order")
        .first()
    )


def apply_dispute_event(
    event: ProviderEvent, *, checkout: Checkout, provider: str, actor: Actor
) -> tuple[Order | None, str]:
    """Record a dispute event on its order once; returns the order and what happened."""
    if not event.dispute_reference or event.amount_minor is None or not event.currency:
        return None, "ignored: a dispute without id, amount or currency"
    attempt = _attempt(event, checkout, provider)
    if attempt is None:
        return None, "unknown payment"
    when = _moment(event.occurred_at) or timezone.now()
    with transaction.atomic():
        order = transitions.lock_order(attempt.order)
        dispute = (
            Dispute.objects.select_for_update()
            .filter(provider=provider, provider_reference=event.dispute_reference[:200])
            .first()
        )
        amount = format_money(event.amount_minor, event.currency)
        name = f"{actor.label} dispute {event.dispute_reference}"
        opened = dispute is None
        if dispute is None:
            dispute = Dispute(
                order=order,
                payment_attempt=attempt,
                provider=provider,
                provider_reference=event.dispute_reference[:200],
                opened_at=when,
                last_event_at=when,
                amount_minor=event.amount_minor,
                currency=event.currency.upper(),
                status=event.dispute_status[:30],
            )
        was_open = not opened and dispute.is_open
        before = dispute.status
        if opened or when >= dispute.last_event_at:
            dispute.status = event.dispute_status[:30] or dispute.status
            dispute.reason = event.dispute_reason[:50]
            dispute.amount_minor = event.amount_minor
            dispute.evidence_due_by = _moment(event.evidence_due_by)
            dispute.last_event_at = when
            dispute.closed_at = None if dispute.is_open else (dispute.closed_at or when)
        if event.type.endswith(".funds_withdrawn"):
            dispute.funds_withdrawn_minor = event.amount_minor
        elif event.type.endswith(".funds_reinstated"):
            dispute.funds_reinstated_minor = event.amount_minor
        dispute.save()
        data = {
            "dispute_id": dispute.pk,
            "provider_reference": dispute.provider_reference,
            "status": dispute.status,
            "event": event.event_id,
        }
        reason = f", reason {dispute.reason}" if dispute.reason else ""
        if opened:
            due = (
                f", evidence due by {dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC"
                if dispute.evidence_due_by and dispute.is_open
                else ""
            )
            record_event(
                order,
                type=EventType.DISPUTE_OPENED,
                message=f"{name} opened for {amount}{reason} ({dispute.status}{due})",
                actor=actor,
                data=data,
            )
        funds = FUNDS_MOVED.get(event.type.rpartition(".")[2])
        if funds is not None:
            record_event(
                order,
                type=EventType.DISPUTE_FUNDS,
                message=f"{actor.label} {funds % {'amount': amount}} the balance for {name}",
                actor=actor,
                data=data,
            )
        elif not opened and dispute.status != before:
            closed = was_open and not dispute.is_open
            record_event(
                order,
                type=EventType.DISPUTE_CLOSED if closed else EventType.DISPUTE_UPDATED,
                message=(
                    f"{name} closed: {dispute.status}"
                    if closed
                    else f"{name} is now {dispute.status}"
                )
                + (
                    f" ({amount} stays with the customer)"
                    if dispute.status == DisputeStatus.LOST
                    else ""
                ),
                actor=actor,
                data=data,
            )
        still_open = order.disputes.filter(status__in=DisputeStatus.OPEN).exists()
        transitions.set_dispute_open(order, still_open)
    return order, f"dispute {dispute.provider_reference}: {dispute.status}"
