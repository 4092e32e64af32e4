"""Orders with configured actions, for the actions tests."""

from __future__ import annotations

from typing import Any

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunStatus
from orderdesk.actions.services import run_action, schedule_actions, snapshot_actions
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.testing import factories
from orderdesk.testing.factories import World


def kajabi(w: World, base: str, key: str = "masterclass", **settings: Any) -> ActionConfig:
    config = factories.kajabi_action(
        w.checkout, url=f"{base}/kajabi/offers/{key}/activate", offer=w.offer
    )
    if settings:
        config.settings = {**config.settings, **settings}
        config.save()
    return config


def webhook(w: World, base: str, key: str = "merchant", **settings: Any) -> ActionConfig:
    return ActionConfig.objects.create(
        checkout=w.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.WEBHOOK,
        name="Notify CRM",
        settings={"url": f"{base}/webhooks/{key}/", "secret": "sandbox-webhook-secret", **settings},
    )


def paid_order(w: World, **fields: Any) -> Order:
    """A paid order whose configured actions are snapshotted and queued."""
    order = factories.order(w, status=fields.pop("status", OrderStatus.PAID), **fields)
    snapshot_actions(order)
    schedule_actions(order)
    order.refresh_from_db()
    return order


def queued(order: Order) -> list[ActionRun]:
    return list(ActionRun.objects.filter(snapshot__order=order, status=RunStatus.QUEUED))


def run_queued(order: Order) -> list[ActionRun | None]:
    """Run every queued run of the order as a worker would, ignoring backoff."""
    runs = queued(order)
    ActionRun.objects.filter(pk__in=[r.pk for r in runs]).update(
        run_after=runs[0].created_at if runs else None
    )
    return [run_action(r.pk) for r in runs]


def snapshot_of(order: Order, kind: str) -> ActionSnapshot:
    return order.action_snapshots.get(kind=kind)
