"""Restoring refunded data (SPEC F4): the books of every refund undone, its history kept."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.payments.models import PaymentStatus, Refund, RefundStatus
from orderdesk.payments.refunds.errors import RefundError


def restore_refunded_data(order: Order, *, actor: Actor) -> tuple[Order, list[Refund]]:
    """Undo the books of every booked refund (SPEC F4 "Also restore refunded data").

    The refunds stay in the history, marked reversed, and the payments' refunded amounts and
    statuses return to their pre-refund values here; the order's refunded total and its
    lines' go back through `orders.transitions.reverse_refunds`, which writes the timeline
    event. Money is not moved. Runs inside the caller's transaction when there is one (Mark
    as Completed restores and completes atomically); the caller then moves the order's status
    and refreshes the report days of the refunds it returns (`workflows.completion`).
    """
    with transaction.atomic():
        order = transitions.lock_order(order)
        refunds = list(order.refunds.select_for_update().booked())
        if not refunds:
            raise RefundError(_("This order has no refunds to restore."))
        if order.refunds.filter(status=RefundStatus.PENDING).exists():
            raise RefundError(
                "A refund of this order is still waiting for the provider: restore it once"
                " the provider has answered."
            )
        attempts = list(order.payment_attempts.select_for_update())
        payments_before = {str(a.pk): [a.status, a.refunded_minor] for a in attempts}
        now = timezone.now()
        for refund in refunds:
            refund.status = RefundStatus.REVERSED
            refund.reversed_at = now
            refund.save(update_fields=["status", "reversed_at"])
        for attempt in attempts:
            if attempt.refunded_minor <= 0:
                continue
            attempt.refunded_minor = 0
            if attempt.status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
                attempt.status = PaymentStatus.SUCCEEDED
            attempt.save(update_fields=["refunded_minor", "status", "updated_at"])
        order = transitions.reverse_refunds(
            order,
            actor=actor,
            refund_ids=[r.pk for r in refunds],
            before={"payments": payments_before},
        )
    return order, refunds
