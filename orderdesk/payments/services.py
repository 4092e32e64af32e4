"""Write functions of payments: attempts, their results and the provider notifications behind them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.actions.services import schedule_actions
from orderdesk.catalog.models import DiscountCode
from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.pricing import check_discount_code
from orderdesk.orders.services import IngestError
from orderdesk.organizations.models import Checkout
from orderdesk.payments import refunds
from orderdesk.payments.disputes import apply_dispute_event
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Provider,
    ProviderAccount,
    ProviderNotification,
    Refund,
)
from orderdesk.payments.providers.base import PaymentStart, ProviderError, ProviderEvent
from orderdesk.payments.providers.registry import NO_ACCOUNT, get_provider
from orderdesk.payments.refunds import (
    reconcile_pending_refunds,
    refund_order,
    settle_refund,
)

__all__ = [
    "MarkPaidRefused",
    "apply_refund_event",
    "mark_as_paid",
    "payment_to_confirm",
    "receive_notification",
    "reconcile_pending_refunds",
    "record_payment_result",
    "refund_order",
    "settle_refund",
    "start_payment",
]

logger = logging.getLogger(__name__)

# Attempts the provider has not given its final word on yet.
OPEN = frozenset({PaymentStatus.INITIATED, PaymentStatus.PENDING})


def start_payment(
    order: Order,
    *,
    provider: str,
    method: str,
    amount_minor: int,
    currency: str,
    actor: Actor | None = None,
    return_url: str = "",
) -> PaymentAttempt:
    """Write the intent row of a payment and move the order to Processing.

    The caller hands the attempt to the provider after this commits; the amount must be the
    order's total, so a stale checkout page can never underpay. `return_url` (an absolute
    http(s) address, checked here) is where the customer lands after the provider's page.
    """
    if provider not in Provider.values:
        raise IngestError(f"Unknown payment provider {provider!r}.", code="unknown_provider")
    method = method.strip().lower()
    if not method or len(method) > PaymentAttempt._meta.get_field("method").max_length:  # type: ignore[operator]
        raise IngestError("Choose a payment method (up to 30 characters).", code="invalid_method")
    _check_available(order, provider=provider, method=method)
    if return_url and not is_return_url(return_url):
        raise IngestError(
            "The return URL must be an absolute http or https address of up to 500 characters.",
            code="invalid_return_url",
        )
    actor = actor or Actor.customer()
    now = timezone.now()
    with transaction.atomic():
        order = transitions.lock_order(order)
        if order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING):
            raise transitions.TransitionNotAllowed(order, "start a payment")
        if amount_minor != order.total_minor or currency.upper() != order.currency:
            raise IngestError(
                f"The payment of {format_money(amount_minor, currency.upper())} does not match "
                f"the order total of {format_money(order.total_minor, order.currency)}.",
                code="amount_mismatch",
            )
        if order.discount_code is not None:
            # The code may have expired or run out since it was applied.
            check_discount_code(
                order.discount_code, email=order.customer_email, currency=order.currency, now=now
            )
        attempt = PaymentAttempt.objects.create(
            order=order,
            provider=provider,
            method=method,
            amount_minor=amount_minor,
            currency=order.currency,
            stamp=uuid.uuid4().hex,
            return_url=return_url,
            created_at=now,
        )
        attempt.order = transitions.start_processing(
            order, actor=actor, data=_describe(attempt), locked=True
        )
    return attempt


def is_return_url(url: str) -> bool:
    """An absolute http(s) address without spaces or control characters, as a browser may be
    sent to."""
    if len(url) > 500 or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_available(order: Order, *, provider: str, method: str) -> None:
    if provider in NO_ACCOUNT:
        return
    label = Provider(provider).label
    account = ProviderAccount.objects.filter(
        checkout_id=order.checkout_id, provider=provider, is_enabled=True
    ).first()
    if account is None:
        raise IngestError(
            f"{label} is not available in this checkout.", code="provider_not_available"
        )
    # An account without a method list takes every method the provider has.
    if account.methods and method not in account.methods:
        raise IngestError(
            f"{label} does not offer {method!r} in this checkout.", code="method_not_available"
        )


def record_payment_result(
    attempt: PaymentAttempt,
    *,
    succeeded: bool,
    actor: Actor,
    provider_reference: str = "",
    charge_reference: str = "",
    message: str = "",
) -> PaymentAttempt:
    """Apply the provider's final word on an attempt; any number of calls, same result.

    Success moves the order to Paid (or straight to Completed when it has no actions), counts
    its discount code once and queues its actions. Failure sends a Processing order back to In
    Progress so the customer can retry. A repeated result changes nothing, and a failure after
    a success never moves the order backwards. Returns the attempt with the fresh order.
    """
    with transaction.atomic():
        # Order before attempt: the lock order every payment path follows.
        order = transitions.lock_order(attempt.order)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if provider_reference and not attempt.provider_reference:
            attempt.provider_reference = provider_reference[:200]
        if charge_reference and not attempt.charge_reference:
            attempt.charge_reference = charge_reference[:200]
            if attempt.status in PaymentStatus.SETTLED:
                # A replayed success may name the charge that the first one did not.
                attempt.save(update_fields=["charge_reference", "updated_at"])
        if succeeded:
            order = _record_success(
                order, attempt, actor=actor, message=message or "Payment succeeded"
            )
        else:
            order = _record_failure(order, attempt, actor=actor, message=message)
        attempt.order = order
    return attempt


class MarkPaidRefused(Exception):
    """A payment staff may not mark as paid; nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def payment_to_confirm(
    order: Order, attempts: list[PaymentAttempt] | None = None
) -> PaymentAttempt | None:
    """The manual payment (invoice, bank transfer) staff may mark as paid, None when there
    is none: the order's latest attempt, still open, with no provider to confirm it.

    Pass the order's attempts when they are loaded (the panel has them) to save a query.
    """
    if order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING):
        return None
    if attempts is None:
        attempts = list(order.payment_attempts.all())
    latest = max(attempts, key=lambda a: (a.created_at, a.pk), default=None)
    if latest is None or latest.provider != Provider.MANUAL or latest.status not in OPEN:
        return None
    return latest


def mark_as_paid(order: Order, *, actor: Actor) -> PaymentAttempt:
    """Staff confirm that a manual payment was received (an invoice paid, a bank transfer in).

    The order's open manual attempt succeeds with who and when (`confirmed_by`,
    `succeeded_at`), the order becomes Paid through `orders.transitions` and its actions are
    queued, as for a provider's confirmation. An attempt already paid is answered as it is (a
    second click). Card, bank and wallet payments are refused (MarkPaidRefused): only their
    provider can confirm them.
    """
    with transaction.atomic():
        order = transitions.lock_order(order)
        attempt = order.payment_attempts.select_for_update().order_by("-created_at", "-pk").first()
        if attempt is None:
            raise MarkPaidRefused(_("This order has no payment to mark as paid."))
        if attempt.provider != Provider.MANUAL:
            name = attempt.get_provider_display()
            raise MarkPaidRefused(
                _(
                    "%(provider)s payments are confirmed by %(provider)s: Orderdesk marks the"
                    " order paid when %(provider)s reports the payment."
                )
                % {"provider": name}
            )
        if attempt.status in PaymentStatus.SETTLED:
            attempt.order = order
            return attempt
        if attempt.status not in OPEN or payment_to_confirm(order, [attempt]) is None:
            raise MarkPaidRefused(
                _(
                    "Order #%(number)s is %(status)s and its payment %(payment)s: there is no"
                    " payment waiting to be marked as paid."
                )
                % {
                    "number": order.number,
                    "status": order.get_status_display(),
                    "payment": attempt.get_status_display().lower(),
                }
            )
        attempt.confirmed_by = actor.label[:200]
        attempt.save(update_fields=["confirmed_by", "updated_at"])
        method = attempt.method or "manual payment"
        order = _record_success(
            order, attempt, actor=actor, message=f"Marked as paid ({method}) by {actor.label}"
        )
        attempt.order = order
    return attempt


def _record_success(
    order: Order, attempt: PaymentAttempt, *, actor: Actor, message: str = "Payment succeeded"
) -> Order:
    if attempt.status in PaymentStatus.SETTLED:
        return order
    attempt.status = PaymentStatus.SUCCEEDED
    attempt.succeeded_at = timezone.now()
    attempt.failure_message = ""
    attempt.save(
        update_fields=[
            "status",
            "succeeded_at",
            "failure_message",
            "provider_reference",
            "charge_reference",
            "updated_at",
        ]
    )
    data = _describe(attempt)
    if order.status in OrderStatus.WAS_PAID:
        # Another attempt paid first: the customer paid twice and staff must refund one.
        record_event(
            order,
            type=EventType.PAYMENT_SUCCEEDED,
            message="Payment succeeded for an order that was already paid: the customer paid twice",
            actor=actor,
            data=data,
        )
        return order
    has_actions = order.action_snapshots.exists()
    order = transitions.mark_paid(
        order, actor=actor, has_actions=has_actions, data=data, message=message
    )
    if order.discount_code_id is not None:
        DiscountCode.objects.filter(pk=order.discount_code_id).update(
            times_used=F("times_used") + 1
        )
    if has_actions:
        schedule_actions(order)
    return order


def _record_failure(order: Order, attempt: PaymentAttempt, *, actor: Actor, message: str) -> Order:
    if attempt.status not in OPEN:
        return order
    message = message.strip() or "Payment failed"
    attempt.status = PaymentStatus.FAILED
    attempt.failure_message = message[:500]
    attempt.save(update_fields=["status", "failure_message", "provider_reference", "updated_at"])
    data = _describe(attempt)
    latest = order.payment_attempts.order_by("-created_at", "-pk").values_list("pk", flat=True)[0]
    # An older attempt failing while a newer one is with the provider leaves the order waiting.
    if order.status == OrderStatus.PROCESSING and latest == attempt.pk:
        return transitions.fail_payment(order, actor=actor, message=message, data=data)
    record_event(order, type=EventType.PAYMENT_FAILED, message=message, actor=actor, data=data)
    return order


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
                    checkout=checkout,
                    provider=provider,
                    event_id=event.event_id[:200],
                    event_type=event.type[:100],
                    payload=event.payload,
                )
        except IntegrityError:
            existing = ProviderNotification.objects.get(
                checkout=checkout, provider=provider, event_id=event.event_id[:200]
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


# Events that only a payment that succeeded can have: money goes back from a paid payment.
TELL_PAID = ("refund_succeeded", "refund_pending", "refund_failed", "payment_refunded")


def _paid_before_refunded(
    checkout: Checkout, provider: str, event: ProviderEvent, *, actor: Actor
) -> None:
    """A refund the provider reports before the success of its payment (issue 18): Stripe
    does not promise the order of its events, and a refund made in its dashboard minutes
    after the payment can arrive first. Only a paid payment gives money back, so the payment
    is recorded as succeeded first, its order Paid and its actions queued, exactly as its own
    success would have (which then arrives as a repeat and changes nothing). Without this the
    refund marked the attempt refunded, its success was skipped as settled, and the order
    stayed Processing for good: actions never ran, revenue never counted it."""
    attempt = _find_attempt(checkout, provider, event)
    if attempt is None or attempt.status in PaymentStatus.SETTLED:
        return
    if event.currency is not None and event.currency.upper() != attempt.currency:
        return  # not this payment's money: the refund event is refused further on
    record_payment_result(
        attempt,
        succeeded=True,
        actor=actor,
        provider_reference=event.payment_reference,
        message=f"Payment succeeded: {provider.title()} reported a refund of it before its "
        "confirmation",
    )


def _apply(checkout: Checkout, provider: str, event: ProviderEvent) -> tuple[Order | None, str]:
    actor = Actor.provider(provider.title())
    if event.kind in TELL_PAID:
        _paid_before_refunded(checkout, provider, event, actor=actor)
    if event.kind in ("refund_succeeded", "refund_pending", "refund_failed"):
        outcome = apply_refund_event(event, checkout=checkout, provider=provider)
        return _refund_order(checkout, provider, event), outcome
    if event.kind == "ignored":
        return None, "ignored"
    if event.kind == "dispute":
        return apply_dispute_event(event, checkout=checkout, provider=provider, actor=actor)
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
            attempt,
            succeeded=True,
            actor=actor,
            provider_reference=event.payment_reference,
            charge_reference=event.charge_reference,
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


def _describe(attempt: PaymentAttempt) -> dict[str, Any]:
    return {
        "stamp": attempt.stamp,
        "provider": attempt.provider,
        "method": attempt.method,
        "amount_minor": attempt.amount_minor,
        "currency": attempt.currency,
        "provider_reference": attempt.provider_reference,
    }
