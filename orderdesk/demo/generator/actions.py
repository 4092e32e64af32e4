"""A generated order's post-purchase actions: snapshots taken when it opened, and their runs."""

from __future__ import annotations

import datetime as dt
import random

from orderdesk.actions.models import ActionSnapshot, RunStatus, SnapshotStatus
from orderdesk.catalog.models import ActionConfig, ActionKind
from orderdesk.demo.bulk import BulkWriter
from orderdesk.demo.generator.draft import OrderDraft, Snapshot
from orderdesk.demo.generator.tables import RUN_FINISHED

MINUTE = dt.timedelta(minutes=1)
ACTION_ERRORS = {
    ActionKind.KAJABI_GRANT: (
        "422 Email: is invalid",
        "422 Name: can't be blank",
        "404 Base: not found",
        "500 Internal Server Error",
        "502 Bad Gateway",
        "Timed out after 15 s",
    ),
    ActionKind.WEBHOOK: (
        "500 Internal Server Error",
        "503 Service Unavailable",
        "404 Not Found",
        "Timed out after 15 s",
        "Connection refused",
    ),
    ActionKind.SEND_RECEIPT: (
        "SMTP 550 5.1.1 Mailbox does not exist",
        "SMTP 421 4.7.0 Try again later",
    ),
    ActionKind.CUSTOM_EMAIL: ("SMTP 550 5.1.1 Mailbox does not exist", "Connection refused"),
}


def _http_status(message: str) -> int | None:
    head = message.split(" ", 1)[0]
    return int(head) if head.isdigit() and len(head) == 3 else None


def take_snapshots(order: OrderDraft, writer: BulkWriter) -> None:
    """The checkout's actions, then the offer's, then each product's once, in line order."""
    plan = order.plan
    configs: list[tuple[ActionConfig, int | None]] = [(c, None) for c in plan.configs_checkout]
    configs += [(c, None) for c in plan.configs_offer.get(order.offer.pk, ())]
    seen_products: set[int] = set()
    for line in order.quote.lines:
        product_id = line.input.product_id
        if product_id is not None and product_id not in seen_products:
            seen_products.add(product_id)
            configs += [(c, product_id) for c in plan.configs_product.get(product_id, ())]
    order.snapshots = [
        Snapshot(id=writer.new_id(ActionSnapshot), config=config, product_id=product_id)
        for config, product_id in configs
    ]


def succeed_all(
    snapshots: list[Snapshot], rng: random.Random, paid_at: dt.datetime, now: dt.datetime
) -> None:
    """Each action succeeded at its first run, seconds after the payment."""
    for snapshot in snapshots:
        done_at = paid_at + dt.timedelta(seconds=rng.randint(2, 40))
        snapshot.status, snapshot.attempts = SnapshotStatus.SUCCEEDED, 1
        snapshot.last_run_at = snapshot.succeeded_at = min(done_at, now)


def leave_pending(snapshot: Snapshot) -> None:
    """The action has not run yet."""
    snapshot.status, snapshot.attempts = SnapshotStatus.PENDING, 0
    snapshot.last_run_at = snapshot.succeeded_at = None


def failing_snapshot(snapshots: list[Snapshot], rng: random.Random) -> Snapshot | None:
    """The snapshot that fails when this order has a failing action: an outside call first."""
    outside = [
        s for s in snapshots if s.config.kind in (ActionKind.KAJABI_GRANT, ActionKind.WEBHOOK)
    ]
    pool = outside or snapshots
    return pool[rng.randrange(len(pool))] if pool else None


def fail(
    snapshot: Snapshot,
    rng: random.Random,
    paid_at: dt.datetime,
    *,
    attempts: int,
    recovered: bool = False,
    rerun_at: dt.datetime | None = None,
    rerun_by: int | None = None,
) -> None:
    """Record failed runs with backoff; `recovered` adds the run that finally succeeded."""
    message = rng.choice(ACTION_ERRORS[ActionKind(snapshot.config.kind)])
    at = paid_at + dt.timedelta(seconds=rng.randint(1, 5))
    snapshot.runs = []
    for attempt in range(1, attempts + 1):
        finished = at + dt.timedelta(seconds=15 if "Timed out" in message else rng.randint(1, 3))
        snapshot.runs.append(
            (
                snapshot.id, attempt, RunStatus.FAILED, at, at, finished, _http_status(message),
                message, None, at,
            )
        )  # fmt: skip
        at = finished + MINUTE * (4 ** (attempt - 1))
    snapshot.attempts = attempts
    snapshot.last_run_at = snapshot.runs[-1][RUN_FINISHED]
    if recovered:
        _recover(snapshot, rng, rerun_at or at, rerun_by)
    else:
        snapshot.status = SnapshotStatus.FAILED
        snapshot.last_error = message
        snapshot.succeeded_at = None


def _recover(snapshot: Snapshot, rng: random.Random, at: dt.datetime, by: int | None) -> None:
    """The run that finally succeeded: the retry at `at`, or a re-run by a staff member."""
    finished = at + dt.timedelta(seconds=rng.randint(1, 3))
    snapshot.runs.append(
        (
            snapshot.id, snapshot.attempts + 1, RunStatus.SUCCEEDED, at, at, finished,
            200 if snapshot.config.kind != ActionKind.SEND_RECEIPT else None, "", by, at,
        )
    )  # fmt: skip
    snapshot.attempts += 1
    snapshot.status = SnapshotStatus.SUCCEEDED
    snapshot.last_run_at = snapshot.succeeded_at = finished
    snapshot.last_error = ""


def revoke_grants(snapshots: list[Snapshot], at: dt.datetime) -> None:
    """A full refund took the course access back."""
    for snapshot in snapshots:
        if (
            snapshot.config.kind == ActionKind.KAJABI_GRANT
            and snapshot.status == SnapshotStatus.SUCCEEDED
        ):
            snapshot.status = SnapshotStatus.REVOKED
            snapshot.last_run_at = at
