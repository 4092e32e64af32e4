"""Post-purchase actions: snapshot, schedule, run, re-run, revoke; Mark as Completed (SPEC F4, F6).

Every execution is an `ActionRun` row written in the caller's transaction and handed to the
task queue after commit. A worker claims the run with a conditional UPDATE, calls the kind with
no transaction or lock held, and records the outcome in a second short transaction. A run whose
worker died becomes claimable again once its `claimed_until` has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.actions.kinds.base import ActionError, ActionResult
from orderdesk.actions.kinds.email import EmailKind
from orderdesk.actions.kinds.http import shorten
from orderdesk.actions.kinds.kajabi import offer_key
from orderdesk.actions.kinds.registry import get_kind
from orderdesk.actions.models import (
    ActionRun,
    ActionSnapshot,
    RunOperation,
    RunStatus,
    SnapshotStatus,
)
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.organizations.models import Checkout, User

logger = logging.getLogger(__name__)

DONE = (SnapshotStatus.SUCCEEDED, SnapshotStatus.REVOKED)
# Kinds whose access can be taken back (Kajabi offer deactivation).
REVOCABLE_KINDS = frozenset({ActionKind.KAJABI_GRANT})


def _label(snapshot: ActionSnapshot) -> str:
    return f"{snapshot} ({snapshot.get_level_display().lower()} level)"


# Snapshots


def snapshot_actions(order: Order) -> None:
    """Freeze the actions configured for the order's checkout, offer and products.

    Safe to call again when the order's lines change before payment: actions of products that
    were added get snapshots, pending snapshots of products that were removed are dropped, and
    snapshots already taken keep the configuration they were taken with. Reads the order's
    lines as loaded when the caller has them (the checkout's re-pricing leaves them on it).
    """
    product_ids = {line.product_id for line in order.lines.all() if line.product_id is not None}
    # Inside the caller's transaction when there is one: no savepoint round trips.
    with transaction.atomic(savepoint=False):
        existing = {(s.config_id, s.product_id): s for s in order.action_snapshots.all()}
        stale = [
            s.pk
            for s in existing.values()
            if s.level == ActionLevel.PRODUCT
            and s.product_id not in product_ids
            and s.status == SnapshotStatus.PENDING
            and not s.runs.exists()
        ]
        if stale:
            ActionSnapshot.objects.filter(pk__in=stale).delete()
        _take_snapshots(order, product_ids, existing)


def snapshot_new_order(order: Order, product_ids: Iterable[int | None]) -> None:
    """`snapshot_actions` for an order just opened, inside the caller's transaction: it has no
    snapshot yet and its products are known, so the database copies the configuration in one
    INSERT … SELECT, with the positions `snapshot_actions` gives (checkout, offer, product
    level, then id). Every checkout page view opens an order: reading the configuration into
    Python and writing it back cost about 2 ms of CPU per open (issue 16).
    `test_snapshots.py` holds it to the same rows as `snapshot_actions`."""
    ids = sorted({pk for pk in product_ids if pk is not None})
    products = f"c.product_id IN ({', '.join(['%s'] * len(ids))})" if ids else "1 = 0"
    status = ActionSnapshot._meta.get_field("status").get_default()
    sql = f"""
        INSERT INTO {ActionSnapshot._meta.db_table} (
            order_id, config_id, config_version, level, kind, product_id, name, settings,
            position, status, attempts, last_error
        )
        SELECT %s, c.id, c.version, c.level, c.kind, c.product_id, c.name, c.settings,
            ROW_NUMBER() OVER (
                ORDER BY CASE c.level WHEN %s THEN 0 WHEN %s THEN 1 ELSE 2 END, c.id
            ) - 1 AS position,
            %s, 0, ''
        FROM {ActionConfig._meta.db_table} c
        WHERE c.checkout_id = %s AND c.is_active
            AND (c.level = %s OR (c.level = %s AND c.offer_id = %s) OR (c.level = %s AND {products}))
        ORDER BY position
    """  # noqa: S608 (table names from the models, values as parameters)
    params = [
        order.pk,
        ActionLevel.CHECKOUT,
        ActionLevel.OFFER,
        status,
        order.checkout_id,
        ActionLevel.CHECKOUT,
        ActionLevel.OFFER,
        order.offer_id,
        ActionLevel.PRODUCT,
        *ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _take_snapshots(
    order: Order,
    product_ids: set[int],
    existing: dict[tuple[int | None, int | None], ActionSnapshot],
) -> None:
    configs = ActionConfig.objects.filter(checkout_id=order.checkout_id, is_active=True).filter(
        Q(level=ActionLevel.CHECKOUT)
        | Q(level=ActionLevel.OFFER, offer_id=order.offer_id)
        | Q(level=ActionLevel.PRODUCT, product_id__in=product_ids)
    )
    level_rank = {ActionLevel.CHECKOUT: 0, ActionLevel.OFFER: 1, ActionLevel.PRODUCT: 2}
    created: list[ActionSnapshot] = []
    for config in sorted(configs, key=lambda c: (level_rank[ActionLevel(c.level)], c.pk)):
        key = (config.pk, config.product_id)
        if key in existing:
            continue
        created.append(
            ActionSnapshot(
                order=order,
                config=config,
                config_version=config.version,
                level=config.level,
                kind=config.kind,
                product_id=config.product_id,
                name=config.name,
                settings=config.settings,
                position=len(existing) + len(created),
            )
        )
    if created:
        ActionSnapshot.objects.bulk_create(created)


# Queueing


def _enqueue(run_id: int, run_after: dt.datetime) -> None:
    job = run_action_task
    if run_after > timezone.now():
        if not job.get_backend().supports_defer:
            return  # the sweep hands it to a worker once it is due
        job = job.using(run_after=run_after)
    job.enqueue(run_id)


def _queue(
    snapshot: ActionSnapshot,
    *,
    operation: RunOperation = RunOperation.RUN,
    attempt: int = 1,
    run_after: dt.datetime | None = None,
    by: Actor | None = None,
    customer_email: str = "",
) -> ActionRun:
    """Write a queued run (inside the caller's transaction) and enqueue it after commit."""
    run = ActionRun.objects.create(
        snapshot=snapshot,
        operation=operation,
        attempt=attempt,
        run_after=run_after or timezone.now(),
        triggered_by=by.user if by else None,
        customer_email=customer_email,
    )
    if operation == RunOperation.RUN and snapshot.status != SnapshotStatus.PENDING:
        snapshot.status = SnapshotStatus.PENDING
        snapshot.save(update_fields=["status"])
    transaction.on_commit(lambda: _enqueue(run.pk, run.run_after))
    return run


def _active_run(snapshot: ActionSnapshot) -> ActionRun | None:
    return snapshot.runs.filter(status__in=RunStatus.ACTIVE).first()


def _queue_unless_done(snapshot: ActionSnapshot, *, by: Actor | None) -> ActionRun | None:
    """Queue a run of a locked snapshot that has not succeeded; a due-later retry runs now."""
    if snapshot.status in DONE:
        return None
    active = _active_run(snapshot)
    if active is None:
        return _queue(snapshot, by=by)
    if active.status == RunStatus.QUEUED and active.run_after > timezone.now():
        active.run_after = timezone.now()
        active.save(update_fields=["run_after"])
        transaction.on_commit(lambda: _enqueue(active.pk, active.run_after))
    return None


def action_health(order: Order) -> ActionHealth:
    statuses = set(
        ActionSnapshot.objects.filter(order=order).values_list("status", flat=True).distinct()
    )
    if not statuses:
        return ActionHealth.NONE
    if SnapshotStatus.FAILED in statuses:
        return ActionHealth.FAILED
    if statuses & {SnapshotStatus.PENDING, SnapshotStatus.RUNNING}:
        return ActionHealth.PENDING
    return ActionHealth.SUCCEEDED


def schedule_actions(order: Order) -> list[ActionRun]:
    """Queue a run of every snapshot not yet succeeded; call in the transaction that marks it Paid.

    Runs are handed to workers only after that transaction commits.
    """
    with transaction.atomic():
        order = transitions.lock_order(order)
        runs = [
            run
            for snapshot in order.action_snapshots.select_for_update()
            if (run := _queue_unless_done(snapshot, by=None))
        ]
        transitions.set_action_health(order, action_health(order))
    return runs


# Running


def _backoff(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.ACTION_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def run_action(run_id: int) -> ActionRun | None:
    """Claim the run and execute it; returns None when it is not ours to run.

    Not ours: another worker holds it, it is finished, or its backoff has not passed yet.
    """
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.ACTION_CLAIM_SECONDS)
    with transaction.atomic():
        claimed = (
            ActionRun.objects.filter(pk=run_id)
            .filter(
                Q(status=RunStatus.QUEUED, run_after__lte=now)
                | Q(status=RunStatus.RUNNING, claimed_until__lt=now)
            )
            .update(status=RunStatus.RUNNING, claimed_until=lease, started_at=now)
        )
        if not claimed:
            return None
        run = ActionRun.objects.select_related("snapshot__order").get(pk=run_id)
        if run.operation == RunOperation.RUN:
            ActionSnapshot.objects.filter(pk=run.snapshot_id).update(
                status=SnapshotStatus.RUNNING, attempts=F("attempts") + 1, last_run_at=now
            )
        else:
            ActionSnapshot.objects.filter(pk=run.snapshot_id).update(last_run_at=now)

    # The outside call: no transaction and no row lock, it may take seconds.
    snapshot = run.snapshot
    result: ActionResult | None = None
    error: ActionError | None = None
    try:
        kind = get_kind(snapshot.kind)
        if run.operation == RunOperation.REVOKE:
            # Another order may have granted the same offer since the removal was queued.
            keeper = access_kept_by([snapshot]).get(snapshot.pk)
            if keeper is not None:
                result = ActionResult(kept_by_order=keeper.number)
            else:
                result = kind.revoke(snapshot, run)
        else:
            result = kind.run(snapshot, run)
    except ActionError as exc:
        error = exc
    except Exception as exc:
        logger.exception("Action run %s crashed", run.pk)
        error = ActionError(f"Unexpected error: {type(exc).__name__}: {exc}", permanent=True)
    return _record(run, lease=lease, result=result, error=error)


@task()
def run_action_task(run_id: int) -> None:
    """The worker's entry point for one run: `run_action` under the task backend."""
    run_action(run_id)


def _retries(run: ActionRun, error: ActionError) -> bool:
    return not error.permanent and run.attempt < settings.ACTION_MAX_ATTEMPTS


def _schedule_retry(run: ActionRun, now: dt.datetime) -> tuple[ActionRun, str]:
    """The run's next attempt after its backoff (the caller enqueues it after commit), and
    "attempt 1 of 5), retrying in 30 s" for the timeline."""
    delay = _backoff(run.attempt)
    retry = ActionRun.objects.create(
        snapshot=run.snapshot,
        operation=run.operation,
        attempt=run.attempt + 1,
        run_after=now + delay,
        triggered_by=run.triggered_by,
        customer_email=run.customer_email,
    )
    words = (
        f"attempt {run.attempt} of {settings.ACTION_MAX_ATTEMPTS}),"
        f" retrying in {int(delay.total_seconds())} s"
    )
    return retry, words


def _record(
    run: ActionRun, *, lease: dt.datetime, result: ActionResult | None, error: ActionError | None
) -> ActionRun | None:
    now = timezone.now()
    retry: ActionRun | None = None
    system = Actor.system()
    with transaction.atomic():
        order = transitions.lock_order(run.snapshot.order)
        message = shorten(error.message) if error else ""
        mine = ActionRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, claimed_until=lease)
        if not mine.update(
            status=RunStatus.FAILED if error else RunStatus.SUCCEEDED,
            finished_at=now,
            http_status=error.http_status if error else (result.http_status if result else None),
            error_message=message,
            claimed_until=None,
        ):
            # Lease ran out and another worker took the run over; its outcome counts.
            return None
        run.refresh_from_db()
        snapshot = ActionSnapshot.objects.select_for_update().get(pk=run.snapshot_id)
        data: dict[str, Any] = {
            "snapshot_id": snapshot.pk,
            "run_id": run.pk,
            "attempt": run.attempt,
            "http_status": run.http_status,
        }
        label = _label(snapshot)
        if run.operation == RunOperation.RESEND:
            # A resend leaves the action's own status alone: it had succeeded already.
            if error is None:
                message = f"Email resent: {label} to {order.customer_email}"
                record_event(
                    order, type=EventType.EMAIL_RESENT, message=message, actor=system, data=data
                )
            elif _retries(run, error):
                retry, retrying = _schedule_retry(run, now)
                record_event(
                    order,
                    type=EventType.ACTION_FAILED,
                    message=f"Resending {label} failed ({retrying}: {message}",
                    actor=system,
                    data={**data, "error": message, "retry_run_id": retry.pk},
                )
            else:
                record_event(
                    order,
                    type=EventType.ACTION_FAILED,
                    message=f"Resending {label} failed: {message}",
                    actor=system,
                    data={**data, "error": message},
                )
        elif run.operation == RunOperation.REVOKE:
            if error:
                # A customer who keeps access after a refund costs the merchant: a passing
                # fault is retried like a grant, and staff can retry the rest by hand.
                snapshot.last_error = shorten(f"Removing access failed: {message}")
                snapshot.save(update_fields=["last_error"])
                why = f"Removing access failed ({label})"
                if _retries(run, error):
                    retry, retrying = _schedule_retry(run, now)
                    why = f"Removing access failed ({label}, {retrying}"
                    data["retry_run_id"] = retry.pk
                record_event(
                    order,
                    type=EventType.ACTION_FAILED,
                    message=f"{why}: {message}",
                    actor=system,
                    data={**data, "error": message},
                )
            else:
                snapshot.status = SnapshotStatus.REVOKED
                snapshot.last_error = ""
                snapshot.save(update_fields=["status", "last_error"])
                keeper = result.kept_by_order if result else None
                if keeper is not None:
                    record_event(
                        order,
                        type=EventType.ACCESS_KEPT,
                        message=_kept_message(snapshot, keeper),
                        actor=system,
                        data={**data, "kept_by_order": keeper},
                    )
                else:
                    record_event(
                        order,
                        type=EventType.ACCESS_REVOKED,
                        message=f"Access removed: {label}",
                        actor=system,
                        data=data,
                    )
        elif error is None:
            snapshot.status = SnapshotStatus.SUCCEEDED
            snapshot.succeeded_at = now
            snapshot.last_error = ""
            snapshot.save(update_fields=["status", "succeeded_at", "last_error"])
            record_event(
                order,
                type=EventType.ACTION_SUCCEEDED,
                message=f"{label} succeeded",
                actor=system,
                data=data,
            )
        elif _retries(run, error):
            snapshot.status = SnapshotStatus.PENDING
            snapshot.last_error = message
            snapshot.save(update_fields=["status", "last_error"])
            retry, retrying = _schedule_retry(run, now)
            record_event(
                order,
                type=EventType.ACTION_FAILED,
                message=f"{label} failed ({retrying}: {message}",
                actor=system,
                data={**data, "error": message, "retry_run_id": retry.pk},
            )
        else:
            snapshot.status = SnapshotStatus.FAILED
            snapshot.last_error = message
            snapshot.save(update_fields=["status", "last_error"])
            why = "" if error.permanent else f" after {run.attempt} attempts"
            record_event(
                order,
                type=EventType.ACTION_FAILED,
                message=f"{label} failed{why}: {message}",
                actor=system,
                data={**data, "error": message, "permanent": error.permanent},
            )
        transitions.set_action_health(order, action_health(order))
        if retry is not None:
            retry_id, retry_after = retry.pk, retry.run_after
            transaction.on_commit(lambda: _enqueue(retry_id, retry_after))
    return run


def sweep_actions() -> int:
    """Hand due runs to workers again: runs whose worker died, and queued runs nobody took.

    Returns how many were enqueued. A run enqueued twice is harmless: only one claim wins.
    """
    now = timezone.now()
    stale_queue = now - dt.timedelta(seconds=settings.ACTION_SWEEP_GRACE_SECONDS)
    due = list(
        ActionRun.objects.filter(
            Q(status=RunStatus.QUEUED, run_after__lte=stale_queue)
            | Q(status=RunStatus.RUNNING, claimed_until__lt=now)
        )
        .order_by("run_after")
        .values_list("pk", "status")[:1000]
    )
    # Pushing run_after forward keeps the next sweep from enqueueing the same run again at once.
    ActionRun.objects.filter(
        pk__in=[pk for pk, status in due if status == RunStatus.QUEUED], status=RunStatus.QUEUED
    ).update(run_after=now)
    for pk, _status in due:
        _enqueue(pk, now)
    return len(due)


# Staff actions


def _fingerprint(value: Any) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _for_timeline(settings_: dict[str, Any]) -> dict[str, Any]:
    """Settings as recorded on the timeline; secrets only as a fingerprint that shows a change."""
    return {
        key: _fingerprint(value) if "secret" in key.lower() or "password" in key.lower() else value
        for key, value in settings_.items()
    }


def _use_latest_config(order: Order, snapshots: Iterable[ActionSnapshot], *, actor: Actor) -> None:
    for snapshot in snapshots:
        config = snapshot.config
        if config is None:
            record_event(
                order,
                type=EventType.ACTION_CONFIG_REPLACED,
                message=f"{_label(snapshot)}: no current configuration, kept the snapshot",
                actor=actor,
                data={"snapshot_id": snapshot.pk},
            )
            continue
        old = {
            "name": snapshot.name,
            "kind": snapshot.kind,
            "version": snapshot.config_version,
            "settings": _for_timeline(snapshot.settings),
        }
        new = {
            "name": config.name,
            "kind": config.kind,
            "version": config.version,
            "settings": _for_timeline(config.settings),
        }
        snapshot.name = config.name
        snapshot.kind = config.kind
        snapshot.config_version = config.version
        snapshot.settings = config.settings
        snapshot.save(update_fields=["name", "kind", "config_version", "settings"])
        record_event(
            order,
            type=EventType.ACTION_CONFIG_REPLACED,
            message=f"{_label(snapshot)}: replaced with the latest configuration (v{config.version})",
            actor=actor,
            data={"snapshot_id": snapshot.pk, "old": old, "new": new},
        )


def rerun_failed(
    order: Order,
    *,
    use_latest_config: bool = False,
    by: Actor | User,
    only: Callable[[ActionSnapshot], bool] | None = None,
) -> list[ActionRun]:
    """Re-run the order's failed actions, optionally with their current configuration first.

    `only` narrows them (a failure group's re-run takes its own cause's actions, not every
    failed action of the order); it is asked under the order's lock."""
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(order)
        failed = [
            snapshot
            for snapshot in order.action_snapshots.select_for_update().filter(
                status=SnapshotStatus.FAILED
            )
            if only is None or only(snapshot)
        ]
        if use_latest_config:
            _use_latest_config(order, failed, actor=actor)
        runs = [run for s in failed if (run := _queue_unless_done(s, by=actor))]
        if runs:
            record_event(
                order,
                type=EventType.ACTION_RERUN,
                message=f"Re-run of {len(runs)} failed action(s) requested",
                actor=actor,
                data={"run_ids": [r.pk for r in runs], "use_latest_config": use_latest_config},
            )
        transitions.set_action_health(order, action_health(order))
    return runs


def rerun_action(snapshot: ActionSnapshot, *, by: Actor | User) -> ActionRun | None:
    """Re-run one action; does nothing (None) if it already succeeded or is already queued."""
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(snapshot.order)
        snapshot = ActionSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if snapshot.status in DONE or _active_run(snapshot) is not None:
            return None
        run = _queue(snapshot, by=actor)
        record_event(
            order,
            type=EventType.ACTION_RERUN,
            message=f"Re-run requested: {_label(snapshot)}",
            actor=actor,
            data={"snapshot_id": snapshot.pk, "run_id": run.pk},
        )
        transitions.set_action_health(order, action_health(order))
    return run


def move_access(order: Order, *, old_email: str, actor: Actor) -> list[ActionRun]:
    """Move the course access the order granted from `old_email` to its address now.

    Call inside the email change's transaction, with the order locked and its new address
    saved. Each Kajabi grant that succeeded becomes two runs with their retries and statuses:
    a grant under the new address (a new snapshot, so the panel shows both) and a removal
    under the old one, unless another paid, unrefunded order of the old address in the
    checkout still grants the same offer (Kajabi removes the whole offer from a member).
    Grants that have not succeeded yet simply run under the new address.
    """
    runs: list[ActionRun] = []
    held = order.action_snapshots.select_for_update().filter(
        kind__in=REVOCABLE_KINDS, status=SnapshotStatus.SUCCEEDED
    )
    for snapshot in held:
        moved = ActionSnapshot.objects.create(
            order=order,
            config=snapshot.config,
            config_version=snapshot.config_version,
            level=snapshot.level,
            kind=snapshot.kind,
            product=snapshot.product,
            name=snapshot.name,
            settings=snapshot.settings,
            position=snapshot.position,
        )
        runs.append(_queue(moved, by=actor))
        keeper = other_grant(order, snapshot, email=old_email)
        if keeper is not None:
            record_event(
                order,
                type=EventType.ACCESS_KEPT,
                message=(
                    f"{_label(snapshot)} kept for {old_email}: order #{keeper.number} still"
                    " grants it"
                ),
                actor=actor,
                data={"snapshot_id": snapshot.pk, "kept_by_order": keeper.number},
            )
            continue
        runs.append(
            _queue(snapshot, operation=RunOperation.REVOKE, by=actor, customer_email=old_email)
        )
    transitions.set_action_health(order, action_health(order))
    return runs


@dataclass(frozen=True)
class EmailPreview:
    """What resending an email action would send, composed now from the order as it is."""

    to: str
    subject: str
    body: str
    error: str = ""  # why it cannot be sent (the action's settings lack a subject...)


def _kajabi_sends_email(snapshot: ActionSnapshot) -> bool:
    # Kajabi sends its own offer grant email when the activation asks it to.
    return snapshot.kind == ActionKind.KAJABI_GRANT and bool(
        snapshot.settings.get("send_offer_grant_email")
    )


def can_resend(snapshot: ActionSnapshot) -> bool:
    """An action that sent the customer an email (it succeeded) may send it again: our
    receipt and custom emails, and a Kajabi grant that has Kajabi send its grant email (the
    activation again, with Kajabi's flag; the offer stays granted)."""
    if snapshot.status != SnapshotStatus.SUCCEEDED:
        return False
    return get_kind(snapshot.kind).sends_email or _kajabi_sends_email(snapshot)


def email_preview(snapshot: ActionSnapshot) -> EmailPreview:
    kind = get_kind(snapshot.kind)
    to = snapshot.order.customer_email
    if _kajabi_sends_email(snapshot):
        return EmailPreview(
            to=to,
            subject="Kajabi's offer grant email",
            body="Kajabi writes and sends this email itself: Orderdesk activates the offer "
            "again with send_offer_grant_email, and the customer keeps the access they have.",
        )
    if not isinstance(kind, EmailKind):
        return EmailPreview(to=to, subject="", body="", error="This action sends no email.")
    try:
        subject, body = kind.compose(snapshot)
    except ActionError as error:
        return EmailPreview(to=to, subject="", body="", error=error.message)
    return EmailPreview(to=to, subject=subject, body=body)


def resend_email(snapshot: ActionSnapshot, *, key: str, by: Actor | User) -> ActionRun | None:
    """Queue the email of a succeeded email action again, through the runs and their retries.

    `key` names the request (the preview dialog's, the API's Idempotency-Key): the same key
    again queues nothing, so a double click sends once. None when nothing was queued: a
    replayed key, an email already on its way, or an action that may not resend.
    """
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(snapshot.order)
        snapshot = ActionSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        replayed = order.events.filter(type=EventType.EMAIL_RESEND_REQUESTED, data__key=key)
        if not can_resend(snapshot) or _active_run(snapshot) is not None or replayed.exists():
            return None
        run = _queue(snapshot, operation=RunOperation.RESEND, by=actor)
        record_event(
            order,
            type=EventType.EMAIL_RESEND_REQUESTED,
            message=f"Resend requested: {_label(snapshot)} to {order.customer_email}",
            actor=actor,
            data={"snapshot_id": snapshot.pk, "run_id": run.pk, "key": key},
        )
    return run


def _receipt_settings(order: Order, language: str) -> dict[str, Any]:
    # A receipt action switched off at the checkout still says how its receipts look (subject,
    # sender, reply-to); staff choose the language, since the checkout does not know it.
    config = (
        ActionConfig.objects.filter(checkout_id=order.checkout_id, kind=ActionKind.SEND_RECEIPT)
        .order_by("-is_active", "pk")
        .first()
    )
    return {**(config.settings if config else {}), "language": language}


def staff_receipt(order: Order, *, language: str) -> ActionSnapshot:
    """The receipt staff may send an order that has no receipt action (it is off by default),
    unsaved: what `send_receipt` would write, for its preview."""
    return ActionSnapshot(
        order=order,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        settings=_receipt_settings(order, language),
    )


def can_send_receipt(order: Order, snapshots: Iterable[ActionSnapshot]) -> bool:
    """A paid order without a receipt action may be sent one; with one, it is resent instead."""
    return order.status in OrderStatus.WAS_PAID and not any(
        s.kind == ActionKind.SEND_RECEIPT for s in snapshots
    )


def receipt_preview(order: Order, *, language: str) -> EmailPreview:
    return email_preview(staff_receipt(order, language=language))


class ReceiptRefused(Exception):
    """The order has not been paid: there is nothing to give a receipt for."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def send_receipt(order: Order, *, language: str, key: str, by: Actor | User) -> ActionRun | None:
    """Send the receipt of a paid order that has no receipt action, as staff asked.

    It becomes the order's receipt action (a checkout-level snapshot without a configuration),
    so it runs, retries and shows like one and can be resent later. `key` names the request:
    the same key again, or a receipt action already there, queues nothing. Raises
    `ReceiptRefused` for an order that was never paid.
    """
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(order)
        if order.status not in OrderStatus.WAS_PAID:
            raise ReceiptRefused(_("Only a paid order has a receipt to send."))
        snapshots = list(order.action_snapshots.all())
        replayed = order.events.filter(type=EventType.EMAIL_RESEND_REQUESTED, data__key=key)
        if not can_send_receipt(order, snapshots) or replayed.exists():
            return None
        snapshot = staff_receipt(order, language=language)
        snapshot.position = max((s.position for s in snapshots), default=-1) + 1
        snapshot.save()
        run = _queue(snapshot, by=actor)
        record_event(
            order,
            type=EventType.EMAIL_RESEND_REQUESTED,
            message=f"Receipt requested: {_label(snapshot)} to {order.customer_email}",
            actor=actor,
            data={"snapshot_id": snapshot.pk, "run_id": run.pk, "key": key, "receipt": True},
        )
        transitions.set_action_health(order, action_health(order))
    return run


def finish_actions(order: Order, *, rerun: bool, use_latest_config: bool, actor: Actor) -> Order:
    """The actions' part of Mark as Completed (`workflows.completion.mark_completed`).

    With `use_latest_config`, each failed action's snapshot is first replaced, permanently,
    with the current configuration of its source; the timeline records old and new settings.
    With `rerun`, every action that has not succeeded is queued again. Runs in the caller's
    transaction, with the order locked.
    """
    snapshots = list(order.action_snapshots.select_for_update())
    if use_latest_config:
        failed = [s for s in snapshots if s.status == SnapshotStatus.FAILED]
        _use_latest_config(order, failed, actor=actor)
    if rerun:
        runs = [run for s in snapshots if (run := _queue_unless_done(s, by=actor))]
        if runs:
            record_event(
                order,
                type=EventType.ACTION_RERUN,
                message=f"Running {len(runs)} action(s) that had not succeeded",
                actor=actor,
                data={"run_ids": [r.pk for r in runs]},
            )
    return transitions.set_action_health(order, action_health(order))


def retry_access_removal(snapshot: ActionSnapshot, *, by: Actor | User) -> ActionRun | None:
    """Try again to remove the access a refund asked to remove, after removing it failed.

    Does nothing (None) unless the snapshot's latest run is a failed removal: access that was
    never asked to be removed is not removed from here.
    """
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(snapshot.order)
        snapshot = ActionSnapshot.objects.select_for_update().get(pk=snapshot.pk)
        if not snapshot.access_removal_failed:
            return None
        runs = revoke_actions(order, snapshots=[snapshot], actor=actor)
    return runs[0] if runs else None


def other_grant(
    order: Order, snapshot: ActionSnapshot, *, email: str | None = None
) -> Order | None:
    """Another order whose Kajabi grant of the same offer as `snapshot` still holds, if any.

    Kajabi's deactivation webhook removes the whole offer from the member, whichever purchase
    granted it (providers.md §4.1), so removing one order's grant would take away what another
    order of the same customer paid for. The other order: same checkout, same customer email
    (`email`, else the order's; compared without case, as Kajabi compares emails), paid and
    not refunded in full (`OrderStatus.REFUNDABLE`), with a grant of the same offer
    (`kinds.kajabi.offer_key`) that succeeded and was not removed. The oldest such order.
    The one rule for refunds ("Remove access"), removals run later, and email changes.
    """
    key = offer_key(snapshot.settings)
    email = (order.customer_email if email is None else email).strip()
    if snapshot.kind != ActionKind.KAJABI_GRANT or not key or not email:
        return None
    others = (
        ActionSnapshot.objects.filter(
            kind=ActionKind.KAJABI_GRANT,
            status=SnapshotStatus.SUCCEEDED,
            order__checkout_id=order.checkout_id,
            order__customer_email__iexact=email,
            order__status__in=OrderStatus.REFUNDABLE,
        )
        .exclude(order_id=order.pk)
        .select_related("order")
        .order_by("order__created_at", "pk")
    )
    return next((other.order for other in others if offer_key(other.settings) == key), None)


def access_kept_by(snapshots: Iterable[ActionSnapshot]) -> dict[int, Order]:
    """`other_grant` of each of `snapshots`, by snapshot id; those without one left out."""
    kept: dict[int, Order] = {}
    for snapshot in snapshots:
        keeper = other_grant(snapshot.order, snapshot)
        if keeper is not None:
            kept[snapshot.pk] = keeper
    return kept


def _kept_message(snapshot: ActionSnapshot, number: int) -> str:
    return (
        f"Access kept: {_label(snapshot)} is also granted by order #{number} of the"
        " same customer, which is paid and not refunded; Kajabi removes an offer whole, so"
        " nothing was removed"
    )


def restore_access(
    order: Order, *, snapshots: Iterable[ActionSnapshot], actor: Actor | User
) -> list[ActionRun]:
    """Grant again the access a refund removed, after the provider reversed that refund
    (issue 12): each removed grant among `snapshots` is queued like a re-run, with its retries.

    Call inside the caller's transaction with the order locked. Grants not removed (still
    granted, or whose removal failed) are left alone; asking twice queues nothing twice.
    """
    actor = Actor.of(actor)
    runs: list[ActionRun] = []
    wanted = [s.pk for s in snapshots if s.order_id == order.pk]
    locked = ActionSnapshot.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    for snapshot in locked:
        if snapshot.status == SnapshotStatus.REVOKED and _active_run(snapshot) is None:
            runs.append(_queue(snapshot, by=actor))
    if runs:
        record_event(
            order,
            type=EventType.ACCESS_RESTORED,
            message="Access granted again: " + ", ".join(str(run.snapshot) for run in runs),
            actor=actor,
            data={"snapshot_ids": [run.snapshot_id for run in runs]},
        )
        transitions.set_action_health(order, action_health(order))
    return runs


def revoke_actions(
    order: Order, *, snapshots: Iterable[ActionSnapshot], actor: Actor | User
) -> list[ActionRun]:
    """Remove the access the given snapshots granted (SPEC F5: "Remove access").

    Call inside the refund's transaction; the revoke runs are queued, handed to workers after
    it commits and tracked like any run. Snapshots that never succeeded granted nothing: they
    are marked revoked without a call. Asking twice queues nothing twice.
    """
    actor = Actor.of(actor)
    runs: list[ActionRun] = []
    with transaction.atomic():
        order = transitions.lock_order(order)
        wanted = [s.pk for s in snapshots if s.order_id == order.pk and s.kind in REVOCABLE_KINDS]
        locked = list(
            ActionSnapshot.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        )
        kept: dict[int, Order] = {}
        if any(s.kind == ActionKind.KAJABI_GRANT for s in locked):
            # One removal of Kajabi access at a time per checkout (always after the order's
            # lock, nothing takes them the other way round): two refunds of one customer's
            # orders for the same offer each see the other's booking, so neither keeps the
            # access because of the other.
            Checkout.objects.select_for_update().filter(pk=order.checkout_id).values("pk").first()
            kept = access_kept_by(s for s in locked if s.status == SnapshotStatus.SUCCEEDED)
        for snapshot in locked:
            if snapshot.status == SnapshotStatus.REVOKED or _active_run(snapshot) is not None:
                continue
            keeper = kept.get(snapshot.pk)
            if keeper is not None:
                # This order no longer grants it; the other order still does.
                snapshot.status = SnapshotStatus.REVOKED
                snapshot.save(update_fields=["status"])
                record_event(
                    order,
                    type=EventType.ACCESS_KEPT,
                    message=_kept_message(snapshot, keeper.number),
                    actor=actor,
                    data={"snapshot_id": snapshot.pk, "kept_by_order": keeper.number},
                )
                continue
            if snapshot.status == SnapshotStatus.SUCCEEDED:
                runs.append(_queue(snapshot, operation=RunOperation.REVOKE, by=actor))
                continue
            snapshot.status = SnapshotStatus.REVOKED
            snapshot.save(update_fields=["status"])
            record_event(
                order,
                type=EventType.ACCESS_REVOKED,
                message=f"{_label(snapshot)} had not granted access; nothing to remove",
                actor=actor,
                data={"snapshot_id": snapshot.pk},
            )
        if runs:
            names = ", ".join(str(run.snapshot) for run in runs)
            record_event(
                order,
                type=EventType.ACCESS_REVOKED,
                message=f"Access removal queued: {names}",
                actor=actor,
                data={"snapshot_ids": [run.snapshot_id for run in runs]},
            )
        transitions.set_action_health(order, action_health(order))
    return runs
