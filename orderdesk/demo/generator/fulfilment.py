"""What happens to a generated order after its payment: actions, completion, staff follow-up.

Orders paid a moment before `now` are still waiting for their actions, and orders drawn to be
marked completed or refunded only are when enough time has passed for staff to do it.
"""

from __future__ import annotations

import datetime as dt
import random

from orderdesk.actions.models import SnapshotStatus
from orderdesk.demo.generator import actions, refunds
from orderdesk.demo.generator.draft import OrderDraft, Snapshot
from orderdesk.demo.generator.tables import RUN_TRIGGERED_BY
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActionHealth, ActorType, OrderStatus

S = OrderStatus
ATTENTION_AFTER = dt.timedelta(minutes=10)
# A snapshot that succeeded, even if a full refund revoked its grant since.
_SUCCEEDED = (SnapshotStatus.SUCCEEDED, SnapshotStatus.REVOKED)


class Fulfilment:
    """Draws what follows an order's payment, from the generator's random source."""

    def __init__(self, rng: random.Random, now: dt.datetime) -> None:
        self.rng = rng
        self.now = now

    def after_payment(self, order: OrderDraft, paid_at: dt.datetime) -> None:
        rng = self.rng
        actions.succeed_all(order.snapshots, rng, paid_at, self.now)
        failing = actions.failing_snapshot(order.snapshots, rng)
        self._run_actions(order, paid_at, failing)
        if order.status == S.PAID and order.health == ActionHealth.SUCCEEDED:
            order.status = S.COMPLETED
        self._follow_up(order, paid_at, failing)
        # Written once the follow-up has decided every action's fate, so the timeline says
        # what the actions show: the system completed the order only if its actions all
        # succeeded on their own, after the last of them.
        if order.status != S.PAID and (done_at := _actions_done_at(order, paid_at)) is not None:
            self._complete(order, done_at)
        _report_failed_actions(order, paid_at)

    def _follow_up(self, order: OrderDraft, paid_at: dt.datetime, failing: Snapshot | None) -> None:
        """What staff did later: mark it completed, refund it, or a refund that failed."""
        rng = self.rng
        later = self.now - paid_at
        if order.status == S.MARKED_COMPLETED:
            self._mark_completed(order, paid_at, failing)
        elif order.status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
            self._refund(order, paid_at, failing)
        elif (
            order.status == S.COMPLETED
            and order.provider in refunds.REFUND_FAILURES
            and later > dt.timedelta(days=1)
            and rng.random() < 0.004
        ):
            refund_at = paid_at + dt.timedelta(
                seconds=rng.randint(3600, int(min(later.total_seconds() - 60, 20 * 86400)))
            )
            order.refunds.append(refunds.failed_refund(rng, order, paid_at, refund_at))

    def _run_actions(
        self, order: OrderDraft, paid_at: dt.datetime, failing: Snapshot | None
    ) -> None:
        """The actions' health: all succeeded (seldom after a retry), or one failed or pending.

        Only orders drawn as "paid" keep a failed action; a fresh payment's actions may not
        have run yet.
        """
        rng = self.rng
        snapshots = order.snapshots
        if self.now - paid_at < ATTENTION_AFTER:
            order.status = S.PAID
            if not snapshots:
                order.status = S.COMPLETED
            else:
                order.health = ActionHealth.PENDING
                for snapshot in snapshots[rng.randrange(len(snapshots)) :]:
                    actions.leave_pending(snapshot)
        elif not snapshots:
            order.status = S.COMPLETED if order.status == S.PAID else order.status
        elif order.status == S.PAID and failing is not None:
            if rng.random() < 0.8:
                order.health = ActionHealth.FAILED
                actions.fail(failing, rng, paid_at, attempts=rng.randint(3, 5))
            else:
                order.health = ActionHealth.PENDING
                actions.leave_pending(failing)
        else:
            order.health = ActionHealth.SUCCEEDED
            if failing is not None and rng.random() < 0.02:
                actions.fail(failing, rng, paid_at, attempts=1, recovered=True)

    def _complete(self, order: OrderDraft, done_at: dt.datetime) -> None:
        completed_at = done_at + dt.timedelta(seconds=self.rng.randint(1, 5))
        # Staff marking it completed later keep their own time.
        order.completed_at = order.completed_at or completed_at
        order.event(
            completed_at,
            EventType.COMPLETED,
            "All post-purchase actions succeeded",
            ActorType.SYSTEM,
            "System",
            '{"from": "paid", "to": "completed"}',
        )

    def _mark_completed(
        self, order: OrderDraft, paid_at: dt.datetime, failing: Snapshot | None
    ) -> None:
        """Staff marked the order completed, re-running a failed action on the way, or not."""
        rng = self.rng
        later = self.now - paid_at
        if later < dt.timedelta(hours=1):
            order.status = S.COMPLETED
            return
        user_id, email = order.staff[rng.randrange(len(order.staff))]
        marked_at = paid_at + dt.timedelta(
            seconds=rng.randint(3600, int(min(later.total_seconds(), 10 * 86400)))
        )
        order.marked_at = order.completed_at = marked_at
        if failing is not None:
            if rng.random() < 0.12:
                order.health = ActionHealth.FAILED
                actions.fail(failing, rng, paid_at, attempts=rng.randint(3, 5))
            else:
                actions.fail(
                    failing,
                    rng,
                    paid_at,
                    attempts=3,
                    recovered=True,
                    rerun_at=marked_at,
                    rerun_by=user_id,
                )
        # An order whose action failed was still Paid when staff marked it completed.
        was = "paid" if failing is not None else "completed"
        order.event(
            marked_at,
            EventType.MARKED_COMPLETED,
            "Marked as completed",
            ActorType.USER,
            email,
            f'{{"from": "{was}", "to": "marked_completed"}}',
            user_id,
        )
        if rng.random() < 0.15:
            order.refunds.append(
                refunds.refund_all(
                    rng, order.quote, order.staff, paid_at, marked_at, reversed_at=marked_at
                )
            )

    def _refund(self, order: OrderDraft, paid_at: dt.datetime, failing: Snapshot | None) -> None:
        """Staff refunded the order in full or in part; a full refund may revoke the course."""
        rng = self.rng
        later = self.now - paid_at
        if later < dt.timedelta(minutes=30):
            order.status = S.COMPLETED
            return
        refund_at = paid_at + dt.timedelta(
            seconds=rng.randint(900, int(min(later.total_seconds() - 60, 30 * 86400)))
        )
        if order.status == S.REFUNDED:
            order.refunds.append(
                refunds.refund_all(rng, order.quote, order.staff, paid_at, refund_at)
            )
        else:
            order.refunds.append(refunds.refund_part(rng, order.quote, order.staff, refund_at))
            if failing is not None and rng.random() < 0.05:
                order.health = ActionHealth.FAILED
                actions.fail(failing, rng, paid_at, attempts=3)
        if order.status == S.REFUNDED and rng.random() < 0.5:
            actions.revoke_grants(order.snapshots, refund_at + dt.timedelta(seconds=4))


def _actions_done_at(order: OrderDraft, paid_at: dt.datetime) -> dt.datetime | None:
    """When the order's actions had all succeeded on their own (first runs and automatic
    retries); None when one failed for good, has not run, or succeeded only when staff re-ran
    it. An order without actions is done when it is paid."""
    done = [paid_at]
    for snapshot in order.snapshots:
        if snapshot.succeeded_at is None or snapshot.status not in _SUCCEEDED:
            return None
        if any(run[RUN_TRIGGERED_BY] is not None for run in snapshot.runs):
            return None
        done.append(snapshot.succeeded_at)
    return max(done)


def _report_failed_actions(order: OrderDraft, paid_at: dt.datetime) -> None:
    for snapshot in order.snapshots:
        if snapshot.status == SnapshotStatus.FAILED:
            config = snapshot.config
            order.event(
                snapshot.last_run_at or paid_at,
                EventType.ACTION_FAILED,
                f"{config.name or config.get_kind_display()} failed: {snapshot.last_error}",
                ActorType.SYSTEM,
                "System",
            )
