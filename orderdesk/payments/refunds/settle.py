"""Settling a refund: what the provider did goes into the books, once.

The books of a refund are the refunded amounts of its order lines, the order's refunded total
and status (through `orders.transitions`), the payment's refunded amount and status, and the
access removal it asked for. Every path that books money (a settled request, a refund recorded
only, one made in the provider's dashboard) goes through `book_refund` or `book_payment`.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot
from orderdesk.actions.services import revoke_actions
from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order
from orderdesk.orders.pricing import refund_line_vat
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Refund,
    RefundLine,
    RefundStatus,
)
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds.confirmation import schedule_confirmation
from orderdesk.payments.refunds.plan import offer_access_snapshots, product_access_snapshots


def settle_refund(
    refund: Refund, result: RefundResult, *, actor: Actor, event_message: str = ""
) -> Refund:
    """Record what the provider did with a refund; safe to call again with the same news.

    succeeded → the books (lines, order total and status, payment status);
    failed → the refund is failed with the provider's message and nothing else changes (the
    lines it held are free to refund again); failed after it had succeeded (the provider
    reversed it, issue 12) → its books are undone (`unbook_refund`) and the order waits on
    Requires attention for staff to decide about the access it removed;
    pending → only the provider's reference and note are kept.
    `event_message` replaces the timeline's sentence (staff confirming for the provider).
    """
    with transaction.atomic():
        order = transitions.lock_order(refund.order)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        fields: list[str] = []
        if result.provider_reference and refund.provider_reference != result.provider_reference:
            refund.provider_reference = result.provider_reference[:200]
            fields.append("provider_reference")
        amount_text = format_money(refund.amount_minor, refund.currency)
        if (
            result.status == "succeeded"
            and refund.status in (RefundStatus.PENDING, RefundStatus.FAILED)
            # Failed after it had succeeded is final at the provider (Stripe): a success
            # arriving now is an older event delivered late, not money moving again.
            and refund.provider_reversed_at is None
        ):
            # A failed refund that the provider later reports done did move money: book it.
            was_failed = refund.status == RefundStatus.FAILED
            refund.status = RefundStatus.SUCCEEDED
            refund.settled_at = timezone.now()
            refund.failure_message = ""
            refund.save(update_fields=[*fields, "status", "settled_at", "failure_message"])
            record_event(
                order,
                type=EventType.REFUND_SUCCEEDED,
                message=event_message
                or f"Refund of {amount_text} succeeded"
                + (" (the provider reported it after a failure)" if was_failed else ""),
                actor=actor,
                data={"refund_id": refund.pk, "provider_reference": refund.provider_reference},
            )
            book_refund(order, refund, actor=actor, through_provider=True)
        elif result.status == "failed" and refund.status == RefundStatus.PENDING:
            refund.status = RefundStatus.FAILED
            refund.settled_at = timezone.now()
            refund.failure_message = (result.message or "The provider refused the refund.")[:500]
            refund.save(update_fields=[*fields, "status", "settled_at", "failure_message"])
            record_event(
                order,
                type=EventType.REFUND_FAILED,
                message=event_message
                or f"Refund of {amount_text} failed: {refund.failure_message}",
                actor=actor,
                data={"refund_id": refund.pk},
            )
        elif result.status == "failed" and refund.status == RefundStatus.SUCCEEDED:
            if fields:
                refund.save(update_fields=fields)
            unbook_refund(order, refund, message=result.message, actor=actor)
        elif result.status == "pending" and refund.status == RefundStatus.PENDING:
            note = result.message[:500]
            if note and note != refund.failure_message:
                refund.failure_message = note
                fields.append("failure_message")
            if fields:
                refund.save(update_fields=fields)
        elif fields:
            refund.save(update_fields=fields)
    return refund


def book_refund(order: Order, refund: Refund, *, actor: Actor, through_provider: bool) -> Order:
    """Add a refund to the order's books; runs under the order lock.

    The payment's books change only when money went `through_provider`; a refund recorded
    only leaves the payment as the provider knows it.

    Booking is also when the refund starts to count in the reports: its booking time is
    `settled_at`, stamped here unless the caller already set it (a provider's success, a
    refund made in the provider's dashboard), so a refund recorded only counts on the day
    it was recorded, like every other kind.
    """
    if refund.settled_at is None:
        refund.settled_at = timezone.now()
        refund.save(update_fields=["settled_at"])
    for refund_line in refund.lines.select_related("order_line"):
        line = refund_line.order_line
        # The VAT it gives back, from what was refunded of the line before it (see
        # `refund_line_vat`): a line refunded in parts gives back exactly its VAT.
        refund_line.vat_minor = refund_line_vat(
            line.vat_minor, line.total_minor, line.refunded_minor, refund_line.amount_minor
        )
        refund_line.save(update_fields=["vat_minor"])
        added = min(refund_line.amount_minor, line.refundable_minor)
        if added:
            line.refunded_minor += added
            line.save(update_fields=["refunded_minor"])
    new_total = min(order.total_minor, order.refunded_minor + refund.amount_minor)
    if new_total > order.refunded_minor:
        order = transitions.record_refund(
            order, refunded_minor=new_total, actor=actor, data={"refund_id": refund.pk}
        )
    if through_provider and refund.payment_attempt_id is not None:
        book_payment(refund.payment_attempt_id, refund.amount_minor)
    _schedule_access_removal(order, refund, actor=actor)
    schedule_confirmation(refund)
    return order


def book_payment(attempt_id: int, amount_minor: int) -> None:
    """Add `amount_minor` to what the payment gave back; never more than it took."""
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    attempt.refunded_minor = min(attempt.amount_minor, attempt.refunded_minor + amount_minor)
    attempt.status = (
        PaymentStatus.REFUNDED
        if attempt.refunded_minor >= attempt.amount_minor
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    attempt.save(update_fields=["refunded_minor", "status", "updated_at"])


def unbook_refund(order: Order, refund: Refund, *, message: str, actor: Actor) -> Order:
    """Undo the books of a refund the provider reversed after it succeeded; runs under the
    order lock with the refund locked.

    The money is back in the merchant's balance and the customer did not get it, so the
    refund becomes failed and stops counting: its lines' refunded amounts, the order's
    refunded total and status (`transitions.unbook_refund`, which puts the order on Requires
    attention), the payment's refunded amount. The report days that counted it are rebuilt
    by the reports layer (`rollup_stale`). Access the refund removed stays removed until
    staff decide (`payments.refunds.reversal.handle_reversed_refund`); the timeline says so.
    """
    amount_text = format_money(refund.amount_minor, refund.currency)
    refund.status = RefundStatus.FAILED
    refund.failure_message = (message or "The provider reversed the refund.")[:500]
    refund.provider_reversed_at = timezone.now()
    refund.rollup_stale = refund.settled_at is not None
    refund.save(update_fields=["status", "failure_message", "provider_reversed_at", "rollup_stale"])
    # What stays refunded is what the refunds still booked add up to, never more than was
    # there: a refund the provider reported for an order already refunded in full was never
    # added to the lines or the order (`record_provider_refund`), so subtracting its amount
    # would take off another refund's.
    taken_back = 0
    for refund_line in refund.lines.select_related("order_line"):
        line = refund_line.order_line
        still = RefundLine.objects.filter(
            order_line=line, refund__status__in=RefundStatus.BOOKED
        ).aggregate(total=Sum("amount_minor"))["total"]
        kept = min(line.refunded_minor, line.total_minor, still or 0)
        if kept < line.refunded_minor:
            taken_back += line.refunded_minor - kept
            line.refunded_minor = kept
            line.save(update_fields=["refunded_minor"])
    still_booked = order.refunds.booked().aggregate(total=Sum("amount_minor"))["total"] or 0
    if refund.payment_attempt_id is not None:
        unbook_payment(refund.payment_attempt_id, refund.amount_minor)
    removed_access = [str(s) for s in removed_access_snapshots(order, refund)]
    provider = refund.payment_attempt.get_provider_display() if refund.payment_attempt else ""
    sentence = (
        f"{provider or 'The provider'} reversed the refund of {amount_text}"
        + (f" ({refund.failure_message})" if message else "")
        + ": the money is back in the merchant's balance and the customer did not get it."
    )
    if removed_access:
        sentence += (
            f" The refund had removed access ({', '.join(removed_access)}): restore it or"
            " leave it removed."
        )
    return transitions.unbook_refund(
        order,
        refunded_minor=min(order.refunded_minor, order.total_minor, still_booked),
        actor=actor,
        message=sentence[:500],
        data={
            "refund_id": refund.pk,
            "amount_minor": refund.amount_minor,
            "lines_minor": taken_back,
            "removed_access": removed_access,
        },
    )


def unbook_payment(attempt_id: int, amount_minor: int) -> None:
    """Take `amount_minor` off what the payment gave back (a refund the provider reversed)."""
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    attempt.refunded_minor = max(0, attempt.refunded_minor - amount_minor)
    if attempt.status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
        attempt.status = (
            PaymentStatus.PARTIALLY_REFUNDED
            if attempt.refunded_minor > 0
            else PaymentStatus.SUCCEEDED
        )
    attempt.save(update_fields=["refunded_minor", "status", "updated_at"])


def removed_access_snapshots(order: Order, refund: Refund) -> list[ActionSnapshot]:
    """The grants whose access this refund asked to remove (its lines' "Remove access" and
    "Remove offer access")."""
    product_ids = [
        pid
        for pid in refund.lines.filter(remove_access=True).values_list(
            "order_line__product_id", flat=True
        )
        if pid is not None
    ]
    snapshots = product_access_snapshots(order, product_ids) if product_ids else []
    if refund.remove_offer_access:
        snapshots += offer_access_snapshots(order)
    return snapshots


def _schedule_access_removal(order: Order, refund: Refund, *, actor: Actor) -> None:
    snapshots = removed_access_snapshots(order, refund)
    if snapshots:
        revoke_actions(order, snapshots=snapshots, actor=actor)
