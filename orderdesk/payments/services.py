"""Write functions of payments: payment results and the provider notifications behind them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orderdesk.actions.services import schedule_actions
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments import refunds
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    ProviderNotification,
    Refund,
)
from orderdesk.payments.providers.base import PaymentStart, ProviderError, ProviderEvent
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.refunds import (
    reconcile_pending_refunds,
    refund_order,
    restore_refunded_data,
    settle_refund,
)

__all__ = [
    "apply_refund_event",
    "receive_notification",
    "reconcile_pending_refunds",
    "record_payment_result",
    "refund_order",
    "restore_refunded_data",
    "settle_refund",
]

logger = logging.getLogger(__name__)

# Attempt statuses a later notification must not undo.
SETTLED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


def record_payment_result(
    attempt: PaymentAttempt,
    *,
    succeeded: bool,
    actor: Actor,
    provider_reference: str = "",
    message: str = "",
) -> PaymentAttempt:
    """Record what the provider said about an attempt and move its order.

    Idempotent, and never moves backwards: a repeated result, or a failure arriving after a
    success, changes nothing.
    """
    with transaction.atomic():
        # Order before attempt, always, so two paths never deadlock.
        order = transitions.lock_order(attempt.order)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status in SETTLED:
            return attempt
        if not succeeded and attempt.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED):
            return attempt
        if provider_reference and not attempt.provider_reference:
            attempt.provider_reference = provider_reference
        data = {"attempt": attempt.pk, "provider": attempt.provider, "method": attempt.method}
        if succeeded:
            attempt.status = PaymentStatus.SUCCEEDED
            attempt.succeeded_at = timezone.now()
            attempt.save(
                update_fields=["status", "succeeded_at", "provider_reference", "updated_at"]
            )
            if order.status in (OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING):
                order = transitions.mark_paid(
                    order,
                    actor=actor,
                    has_actions=order.action_snapshots.exists(),
                    data=data,
                )
                # Queued in this transaction; workers get the runs once it commits.
                schedule_actions(order)
            else:
                # Paid twice (another attempt already succeeded): staff must refund one.
                record_event(
                    order,
                    type=EventType.NOTE,
                    message="Another payment succeeded for an order already paid",
                    actor=actor,
                    data=data,
                )
        else:
            attempt.status = PaymentStatus.FAILED
            attempt.failure_message = message[:500]
            attempt.save(
                update_fields=["status", "failure_message", "provider_reference", "updated_at"]
            )
            others_open = order.payment_attempts.exclude(pk=attempt.pk).filter(
                status__in=[PaymentStatus.INITIATED, PaymentStatus.PENDING]
            )
            if order.status == OrderStatus.PROCESSING and not others_open.exists():
                transitions.fail_payment(
                    order, actor=actor, message=message or "Payment failed", data=data
                )
            else:
                record_event(
                    order,
                    type=EventType.PAYMENT_FAILED,
                    message=message or "Payment failed",
                    actor=actor,
                    data=data,
                )
    return attempt


def apply_refund_event(event: ProviderEvent, *, checkout: Checkout, provider: str) -> str:
    """Apply a verified refund notification; return what happened, for the record."""
    return refunds.apply_refund_event(event, checkout=checkout, provider=provider)


def hand_payment_to_provider(attempt: PaymentAttempt) -> PaymentStart:
    """Create the payment at the provider for an attempt whose intent row is committed.

    Call it outside any transaction: the provider may take seconds. The provider's reference
    is stored in a second short transaction. If the provider refuses or cannot be reached, the
    attempt fails (the customer may retry) and the ProviderError goes to the caller.
    """
    adapter = get_provider(attempt.provider, attempt.order.checkout)
    try:
        start = adapter.start_payment(attempt)
    except ProviderError as error:
        record_payment_result(
            attempt,
            succeeded=False,
            actor=Actor.provider(attempt.get_provider_display()),
            message=error.message,
        )
        raise
    with transaction.atomic():
        fresh = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        fields = []
        if start.provider_reference and not fresh.provider_reference:
            fresh.provider_reference = start.provider_reference[:200]
            fields.append("provider_reference")
        if fresh.status == PaymentStatus.INITIATED:
            fresh.status = PaymentStatus.PENDING
            fields.append("status")
        if fields:
            fresh.save(update_fields=[*fields, "updated_at"])
    attempt.provider_reference, attempt.status = fresh.provider_reference, fresh.status
    return start


@dataclass(frozen=True)
class Received:
    notification: ProviderNotification
    is_replay: bool


def receive_notification(*, checkout: Checkout, provider: str, event: ProviderEvent) -> Received:
    """Store a verified notification once and apply it; a replay changes nothing."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = ProviderNotification.objects.create(
                    provider=provider,
                    event_id=event.event_id[:200],
                    event_type=event.type[:100],
                    payload=event.payload,
                )
        except IntegrityError:
            existing = ProviderNotification.objects.get(
                provider=provider, event_id=event.event_id[:200]
            )
            return Received(existing, is_replay=True)
        order, outcome = _apply(checkout, provider, event)
        notification.order = order
        notification.outcome = outcome[:300]
        notification.processed_at = timezone.now()
        notification.save(update_fields=["order", "outcome", "processed_at"])
    logger.info("%s notification %s (%s): %s", provider, event.event_id, event.type, outcome)
    return Received(notification, is_replay=False)


def _find_attempt(checkout: Checkout, provider: str, event: ProviderEvent) -> PaymentAttempt | None:
    match = Q(pk__in=[])
    if event.stamp:
        match |= Q(stamp=event.stamp)
    if event.payment_reference:
        match |= Q(provider_reference=event.payment_reference)
    return (
        PaymentAttempt.objects.filter(match, order__checkout=checkout, provider=provider)
        .select_related("order")
        .first()
    )


def _refund_order(checkout: Checkout, provider: str, event: ProviderEvent) -> Order | None:
    match = Q(pk__in=[])
    if event.refund_key:
        match |= Q(idempotency_key=event.refund_key)
    if event.refund_reference:
        match |= Q(provider_reference=event.refund_reference)
    refund = Refund.objects.filter(match, order__checkout=checkout).select_related("order").first()
    if refund is not None:
        return refund.order
    attempt = _find_attempt(checkout, provider, event)
    return attempt.order if attempt else None


def _apply(checkout: Checkout, provider: str, event: ProviderEvent) -> tuple[Order | None, str]:
    actor = Actor.provider(provider.title())
    if event.kind in ("refund_succeeded", "refund_pending", "refund_failed"):
        outcome = apply_refund_event(event, checkout=checkout, provider=provider)
        return _refund_order(checkout, provider, event), outcome
    if event.kind == "ignored":
        return None, "ignored"
    attempt = _find_attempt(checkout, provider, event)
    if attempt is None:
        return None, "unknown payment"
    order = attempt.order
    if event.kind == "payment_refunded":
        if event.amount_minor is not None and event.amount_minor != attempt.refunded_minor:
            record_event(
                order,
                type=EventType.NOTE,
                message=f"{provider.title()} reports {event.amount_minor} refunded in total; "
                f"Orderdesk has {attempt.refunded_minor}",
                actor=actor,
                data={"event": event.event_id},
            )
            return order, "refunded total differs; recorded on the timeline"
        return order, "refunded total matches"
    if event.kind == "payment_succeeded":
        mismatch = (
            event.amount_minor is not None and event.amount_minor != attempt.amount_minor
        ) or (event.currency is not None and event.currency != attempt.currency)
        if mismatch:
            record_event(
                order,
                type=EventType.PAYMENT_MISMATCH,
                message=f"{provider.title()} confirmed {event.amount_minor} {event.currency}, "
                f"expected {attempt.amount_minor} {attempt.currency}; not marked paid",
                actor=actor,
                data={
                    "event": event.event_id,
                    "attempt": attempt.pk,
                    "amount_minor": event.amount_minor,
                    "currency": event.currency,
                },
            )
            return order, "amount or currency mismatch; recorded on the timeline"
        record_payment_result(
            attempt, succeeded=True, actor=actor, provider_reference=event.payment_reference
        )
        return order, "payment succeeded"
    if event.kind in ("payment_failed", "payment_cancelled"):
        record_payment_result(
            attempt,
            succeeded=False,
            actor=actor,
            provider_reference=event.payment_reference,
            message=event.message or "Payment failed",
        )
        return order, event.kind.replace("_", " ")
    # payment_processing: the provider has it; only an attempt not yet further along moves.
    PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentStatus.INITIATED).update(
        status=PaymentStatus.PENDING, updated_at=timezone.now()
    )
    return order, "payment processing"
