"""Mark as Completed (SPEC F4): the button's choices and the verb, shared by web and API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from orderdesk.actions.models import SnapshotStatus
from orderdesk.actions.services import finish_actions
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import User
from orderdesk.payments import refunds
from orderdesk.payments.models import RefundStatus
from orderdesk.reports import rollups

MARK_COMPLETED = "Mark as Completed"
MARK_COMPLETED_AND_RERUN = "Mark as Completed and Re-run Actions"


@dataclass(frozen=True)
class CompletionChoices:
    """What the Mark as Completed button says and which dialog options apply (SPEC F4)."""

    label: str
    show_use_latest_config: bool
    show_restore_refunded_data: bool
    # Refunded in full: it completes only with its refunded data restored (the box is ticked).
    restore_required: bool = False
    # Some booked refund returned money through the provider: restoring changes Orderdesk's
    # records only, the customer keeps that money.
    provider_returned_money: bool = False

    @property
    def reruns(self) -> bool:
        """The button also re-runs failed actions (the web translates the label from this)."""
        return self.label == MARK_COMPLETED_AND_RERUN


def completion_choices(
    order: Order,
    *,
    action_statuses: Iterable[str] | None = None,
    refund_statuses: Iterable[str] | None = None,
) -> CompletionChoices | None:
    """None when there is nothing to complete: unpaid, or completed with nothing left to do.

    Pass the statuses of the order's action snapshots and refunds when they are loaded
    already (the panel has them) to save the two queries.
    """
    if order.status not in OrderStatus.COMPLETABLE:
        return None
    if action_statuses is None:
        action_statuses = order.action_snapshots.values_list("status", flat=True)
    if refund_statuses is None:
        refund_statuses = order.refunds.values_list("status", flat=True)
    statuses = set(action_statuses)
    has_failed = SnapshotStatus.FAILED in statuses
    has_unfinished = bool(statuses & {SnapshotStatus.PENDING, SnapshotStatus.RUNNING}) or has_failed
    refund_statuses = list(refund_statuses)
    # Only booked refunds have books that "Also restore refunded data" can undo.
    has_refund_history = any(status in RefundStatus.BOOKED for status in refund_statuses)
    done = order.status in (OrderStatus.COMPLETED, OrderStatus.MARKED_COMPLETED)
    if done and not has_unfinished and not has_refund_history:
        return None
    rerun = order.marked_completed_at is not None and has_failed
    return CompletionChoices(
        label=MARK_COMPLETED_AND_RERUN if rerun else MARK_COMPLETED,
        show_use_latest_config=has_failed,
        show_restore_refunded_data=has_refund_history,
        restore_required=has_refund_history and order.refunded_minor >= order.total_minor > 0,
        provider_returned_money=RefundStatus.SUCCEEDED in set(refund_statuses),
    )


def restore_refunded_data(order: Order, *, actor: Actor) -> Order:
    """Undo the books of every booked refund (`payments.refunds.restore_refunded_data`) and
    take the refunds out of the report days that counted them."""
    with transaction.atomic():
        order, reversed_refunds = refunds.restore_refunded_data(order, actor=actor)
        # The refunds stop counting on the days they were settled, which the daily report
        # rollup may already hold.
        rollups.refresh_days(
            order.checkout_id, [r.settled_at for r in reversed_refunds if r.settled_at]
        )
    return order


def mark_completed(
    order: Order,
    *,
    rerun: bool = True,
    use_latest_config: bool = False,
    restore_refunds: bool = False,
    by: Actor | User,
) -> Order:
    """Mark the order completed by hand and run its actions that have not succeeded (SPEC F4).

    With `restore_refunds` ("Also restore refunded data"), the order's totals, line refunded
    amounts and payment status first return to their pre-refund values; the refunds stay in
    the history, marked reversed. With `use_latest_config`, failed actions first take the
    current configuration of their source (`actions.services.finish_actions`).
    Without `restore_refunds`, an order with refunds keeps its refund status
    (`orders.transitions.mark_completed`): Partially Refunded stays so, Refunded in full is
    refused. Raises TransitionNotAllowed for orders that were never paid or are refunded in
    full, RefundError when the refunded data cannot be restored; either way nothing changes.
    """
    actor = Actor.of(by)
    with transaction.atomic():
        if restore_refunds:
            order = restore_refunded_data(order, actor=actor)
        order = transitions.mark_completed(
            order,
            actor=actor,
            data={
                "rerun": rerun,
                "use_latest_config": use_latest_config,
                "restore_refunds": restore_refunds,
            },
        )
        order = finish_actions(order, rerun=rerun, use_latest_config=use_latest_config, actor=actor)
    return order
