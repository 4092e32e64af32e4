"""Write functions for post-purchase actions."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from orderdesk.actions.models import (
    ActionRun,
    ActionSnapshot,
    RunOperation,
    RunStatus,
    SnapshotStatus,
)
from orderdesk.catalog.models import ActionKind
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order

# Kinds whose access can be taken back (Kajabi offer deactivation).
REVOCABLE_KINDS = frozenset({ActionKind.KAJABI_GRANT})


def revoke_actions(
    order: Order, *, snapshots: Iterable[ActionSnapshot], actor: Actor
) -> list[ActionRun]:
    """Queue a revoke run for each snapshot that granted access and is not revoked yet.

    The runs are outbox rows: a worker claims them and calls the kind's `revoke`. Asking
    twice queues nothing twice.
    """
    runs: list[ActionRun] = []
    with transaction.atomic():
        wanted = [s.pk for s in snapshots if s.order_id == order.pk and s.kind in REVOCABLE_KINDS]
        locked = ActionSnapshot.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        for snapshot in locked:
            if (
                snapshot.status == SnapshotStatus.REVOKED
                or snapshot.runs.filter(
                    operation=RunOperation.REVOKE, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
                ).exists()
            ):
                continue
            runs.append(
                ActionRun.objects.create(
                    snapshot=snapshot,
                    operation=RunOperation.REVOKE,
                    run_after=timezone.now(),
                    triggered_by=actor.user,
                )
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
    return runs
