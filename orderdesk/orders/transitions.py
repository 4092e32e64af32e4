"""The only place an order's status (and action health) changes.

Each transition locks the order row, checks the status it is allowed from, writes the new
status and a timeline event with its actor, and saves only the fields it changed. Callers get
the locked, fresh order back and must use it instead of the instance they passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import ActionHealth, Order, OrderStatus

S = OrderStatus


class TransitionNotAllowed(Exception):
    """An order was asked to move to a status it cannot reach from where it is."""

    def __init__(self, order: Order, action: str, *, why: str = "") -> None:
        self.order = order
        self.action = action
        message = f"Order #{order.number} is {order.get_status_display()}: cannot {action}."
        super().__init__(f"{message} {why}" if why else message)


# Relations a caller may have loaded with the order; the locked copy keeps them when they
# still point to the same rows, so the checkout's calls read them once. Only rows nothing
# under the lock decides on: a discount code is read afresh, as its uses may have run out.
KEPT_RELATIONS = ("checkout", "link", "offer")


def lock_order(order: Order) -> Order:
    """Re-read the order under a row lock; must run inside a transaction."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    for name in KEPT_RELATIONS:
        field = Order._meta.get_field(name)
        assert isinstance(field, models.ForeignKey)
        if field.is_cached(order) and getattr(locked, field.attname) == getattr(
            order, field.attname
        ):
            field.set_cached_value(locked, field.get_cached_value(order))
    return locked


def _move(
    order: Order,
    *,
    allowed_from: Collection[str],
    to: OrderStatus,
    action: str,
    event: EventType,
    message: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    locked: bool = False,
    **fields: Any,
) -> Order:
    # `locked`: the caller read `order` with `lock_order` in the transaction it is still in,
    # so reading it again would only cost a round trip.
    with transaction.atomic(savepoint=not locked):
        if not locked:
            order = lock_order(order)
        if order.status not in allowed_from:
            raise TransitionNotAllowed(order, action)
        previous = order.status
        order.status = to
        for name, value in fields.items():
            setattr(order, name, value)
        order.save(update_fields=["status", "updated_at", *fields])
        record_event(
            order,
            type=event,
            message=message,
            actor=actor,
            data={"from": previous, "to": to, **(data or {})},
        )
    return order


def start_progress(order: Order, *, actor: Actor, locked: bool = False, **billing: Any) -> Order:
    """Billing details were saved: Started → In Progress. `billing` are the order's fields the
    form set, saved in the same UPDATE as the status; `locked` as for `_move`."""
    return _move(
        order,
        allowed_from={S.STARTED},
        to=S.IN_PROGRESS,
        action="save billing details",
        event=EventType.BILLING_SAVED,
        message="Billing details saved",
        actor=actor,
        locked=locked,
        **billing,
    )


def start_processing(
    order: Order, *, actor: Actor, data: dict[str, Any] | None = None, locked: bool = False
) -> Order:
    """A payment was handed to the provider: In Progress → Processing.

    A customer who switches method while one attempt is processing starts another attempt,
    so Processing → Processing is allowed and only recorded. `locked` as for `_move`.
    """
    return _move(
        order,
        allowed_from={S.IN_PROGRESS, S.PROCESSING},
        to=S.PROCESSING,
        action="start a payment",
        event=EventType.PAYMENT_STARTED,
        message="Payment started",
        actor=actor,
        data=data,
        locked=locked,
    )


def fail_payment(
    order: Order, *, actor: Actor, message: str, data: dict[str, Any] | None = None
) -> Order:
    """The attempt failed; the customer may retry: Processing → In Progress."""
    return _move(
        order,
        allowed_from={S.PROCESSING},
        to=S.IN_PROGRESS,
        action="record a failed payment",
        event=EventType.PAYMENT_FAILED,
        message=message,
        actor=actor,
        data=data,
    )


def mark_paid(
    order: Order,
    *,
    actor: Actor,
    has_actions: bool,
    data: dict[str, Any] | None = None,
    message: str = "Payment succeeded",
) -> Order:
    """The payment was confirmed (by its provider, or by staff for an invoice): → Paid, or
    straight to Completed without actions.

    In Progress is allowed too: a success can arrive after a failed attempt sent the order back.
    """
    now = timezone.now()
    order = _move(
        order,
        allowed_from={S.IN_PROGRESS, S.PROCESSING},
        to=S.PAID,
        action="record a payment",
        event=EventType.PAYMENT_SUCCEEDED,
        message=message,
        actor=actor,
        data=data,
        paid_at=now,
        action_health=ActionHealth.PENDING if has_actions else ActionHealth.NONE,
    )
    if not has_actions:
        order = complete(order)
    return order


def complete(order: Order) -> Order:
    """Every post-purchase action succeeded, or there were none: Paid → Completed."""
    return _move(
        order,
        allowed_from={S.PAID},
        to=S.COMPLETED,
        action="complete",
        event=EventType.COMPLETED,
        message="All post-purchase actions succeeded",
        actor=Actor.system(),
        completed_at=timezone.now(),
    )


REFUNDED_IN_FULL = (
    "It was refunded in full: to complete it, also restore its refunded data (Orderdesk's"
    " records only), or leave it refunded."
)


def mark_completed(order: Order, *, actor: Actor, data: dict[str, Any] | None = None) -> Order:
    """Staff completed the order by hand (SPEC F4).

    The status keeps saying where the money is (docs/architecture.md, *Decisions*): an order
    with refunds still booked on it is completed only in part. Partially Refunded stays
    Partially Refunded (the completion is recorded: its time and the timeline); Refunded in
    full is refused, as nothing is left to complete, unless its refunded data was restored
    first (in the same transaction, by `workflows.completion`).
    """
    now = timezone.now()
    with transaction.atomic():
        order = lock_order(order)
        if order.status not in S.COMPLETABLE:
            raise TransitionNotAllowed(order, "mark as completed")
        if order.refunded_minor >= order.total_minor > 0:
            raise TransitionNotAllowed(order, "mark as completed", why=REFUNDED_IN_FULL)
        if order.refunded_minor > 0:
            previous = order.status
            order.status = S.PARTIALLY_REFUNDED
            order.completed_at = order.marked_completed_at = now
            order.save(
                update_fields=["status", "completed_at", "marked_completed_at", "updated_at"]
            )
            record_event(
                order,
                type=EventType.MARKED_COMPLETED,
                message="Marked as completed; stays Partially Refunded, its refunds kept",
                actor=actor,
                data={"from": previous, "to": S.PARTIALLY_REFUNDED, **(data or {})},
            )
            return order
        return _move(
            order,
            allowed_from=S.COMPLETABLE,
            to=S.MARKED_COMPLETED,
            action="mark as completed",
            event=EventType.MARKED_COMPLETED,
            message="Marked as completed",
            actor=actor,
            data=data,
            completed_at=now,
            marked_completed_at=now,
        )


def record_refund(
    order: Order, *, refunded_minor: int, actor: Actor, data: dict[str, Any] | None = None
) -> Order:
    """Refunds now total `refunded_minor`: → Partially Refunded, or Refunded when all is back."""
    if not 0 < refunded_minor <= order.total_minor:
        raise ValueError(f"Refunded total {refunded_minor} is outside 1..{order.total_minor}")
    fully = refunded_minor == order.total_minor
    return _move(
        order,
        allowed_from=S.REFUNDABLE,
        to=S.REFUNDED if fully else S.PARTIALLY_REFUNDED,
        action="refund",
        event=EventType.STATUS_CHANGED,
        message="Refunded" if fully else "Partially refunded",
        actor=actor,
        data={"refunded_minor": refunded_minor, **(data or {})},
        refunded_minor=refunded_minor,
    )


def reverse_refunds(
    order: Order,
    *,
    actor: Actor,
    refund_ids: Sequence[int],
    before: Mapping[str, Any] | None = None,
) -> Order:
    """Refunds were reversed (SPEC F4 "Also restore refunded data"): the order's refunded
    total and its lines' return to zero, with a timeline event of what they were.

    The status stays: Mark as Completed moves it in the same transaction. `before` adds what
    the caller restored elsewhere (the payments') to the event.
    """
    with transaction.atomic():
        order = lock_order(order)
        if order.status not in S.WAS_PAID:
            raise TransitionNotAllowed(order, "restore refunded data")
        lines = {str(pk): minor for pk, minor in order.lines.values_list("pk", "refunded_minor")}
        recorded = {"refunded_minor": order.refunded_minor, "lines": lines, **(before or {})}
        order.lines.filter(refunded_minor__gt=0).update(refunded_minor=0)
        order.refunded_minor = 0
        order.save(update_fields=["refunded_minor", "updated_at"])
        record_event(
            order,
            type=EventType.REFUNDS_REVERSED,
            message=f"Refunded data restored: {len(refund_ids)} refund(s) marked reversed",
            actor=actor,
            data={"refund_ids": list(refund_ids), "before": recorded},
        )
    return order


def unbook_refund(
    order: Order,
    *,
    refunded_minor: int,
    actor: Actor,
    message: str,
    data: dict[str, Any] | None = None,
) -> Order:
    """The provider reversed a refund that had succeeded (issue 12): the order's refunded
    total drops to `refunded_minor` and it goes on Requires attention until staff handle it.

    Refunded / Partially Refunded → Refunded or Partially Refunded as the refunds still booked
    say, else back
    to where the money says it is: Marked as Completed or Completed when it had been
    completed, Paid otherwise. The caller has put the lines' refunded amounts back. An order
    in any other status (none should hold a succeeded refund) keeps it: the money still moved.
    """
    if not 0 <= refunded_minor <= order.total_minor:
        raise ValueError(f"Refunded total {refunded_minor} is outside 0..{order.total_minor}")
    with transaction.atomic():
        order = lock_order(order)
        previous = order.status
        if previous in (S.REFUNDED, S.PARTIALLY_REFUNDED):
            if refunded_minor >= order.total_minor > 0:
                order.status = S.REFUNDED  # other refunds still return it all
            elif refunded_minor > 0:
                order.status = S.PARTIALLY_REFUNDED
            elif order.marked_completed_at is not None:
                order.status = S.MARKED_COMPLETED
            elif order.completed_at is not None:
                order.status = S.COMPLETED
            else:
                order.status = S.PAID
        order.refunded_minor = refunded_minor
        order.refund_reversal_open = True
        order.save(update_fields=["status", "refunded_minor", "refund_reversal_open", "updated_at"])
        record_event(
            order,
            type=EventType.REFUND_REVERSED_BY_PROVIDER,
            message=message,
            actor=actor,
            data={"from": previous, "to": order.status, **(data or {})},
        )
    return order


def _set_attention_flag(order: Order, field: str, is_open: bool) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        if getattr(order, field) != is_open:
            setattr(order, field, is_open)
            order.save(update_fields=[field, "updated_at"])
    return order


def set_refund_reversal_open(order: Order, is_open: bool) -> Order:
    """Whether a refund the provider reversed still waits for staff (Requires attention)."""
    return _set_attention_flag(order, "refund_reversal_open", is_open)


def set_dispute_open(order: Order, is_open: bool) -> Order:
    """Whether a payment dispute of the order is still open (Requires attention)."""
    return _set_attention_flag(order, "dispute_open", is_open)


def set_action_health(order: Order, health: ActionHealth) -> Order:
    """Store the summary of the order's actions; a Paid order whose actions all succeeded completes."""
    with transaction.atomic():
        order = lock_order(order)
        if order.action_health != health:
            order.action_health = health
            order.save(update_fields=["action_health", "updated_at"])
        if order.status == S.PAID and health in (ActionHealth.SUCCEEDED, ActionHealth.NONE):
            order = complete(order)
    return order
