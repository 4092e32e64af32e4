"""Reads about an order's actions that the panel and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orderdesk.actions.models import SnapshotStatus
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.transitions import COMPLETABLE
from orderdesk.payments.models import RefundStatus

# Refunds whose books "Also restore refunded data" can undo.
BOOKED_REFUNDS = frozenset({RefundStatus.SUCCEEDED, RefundStatus.RECORDED})

MARK_COMPLETED = "Mark as Completed"
MARK_COMPLETED_AND_RERUN = "Mark as Completed and Re-run Actions"


@dataclass(frozen=True)
class CompletionChoices:
    """What the Mark as Completed button says and which dialog options apply (SPEC F4)."""

    label: str
    show_use_latest_config: bool
    show_restore_refunded_data: bool


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
    if order.status not in COMPLETABLE:
        return None
    if action_statuses is None:
        action_statuses = order.action_snapshots.values_list("status", flat=True)
    if refund_statuses is None:
        refund_statuses = order.refunds.values_list("status", flat=True)
    statuses = set(action_statuses)
    has_failed = SnapshotStatus.FAILED in statuses
    has_unfinished = bool(statuses & {SnapshotStatus.PENDING, SnapshotStatus.RUNNING}) or has_failed
    has_refund_history = bool(set(refund_statuses) & BOOKED_REFUNDS)
    done = order.status in (OrderStatus.COMPLETED, OrderStatus.MARKED_COMPLETED)
    if done and not has_unfinished and not has_refund_history:
        return None
    rerun = order.marked_completed_at is not None and has_failed
    return CompletionChoices(
        label=MARK_COMPLETED_AND_RERUN if rerun else MARK_COMPLETED,
        show_use_latest_config=has_failed,
        show_restore_refunded_data=has_refund_history,
    )
