"""Orders in Requires attention for a given cause, for the recovery tests."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.testing import factories
from orderdesk.testing.factories import World


def kajabi_config(w: World, name: str = "Grant Kajabi offer") -> ActionConfig:
    return ActionConfig.objects.create(
        checkout=w.checkout,
        level=ActionLevel.OFFER,
        offer=w.offer,
        kind=ActionKind.KAJABI_GRANT,
        name=name,
        settings={"activation_url": "http://kajabi.invalid/offers/a/activate"},
    )


def failing_order(
    w: World,
    config: ActionConfig,
    error: str,
    *,
    minutes_ago: int = 60,
    status: SnapshotStatus = SnapshotStatus.FAILED,
    order_status: OrderStatus = OrderStatus.PAID,
    failed_at: dt.datetime | None = None,
) -> Order:
    """A paid order whose action of `config` failed with `error` (or is still retrying)."""
    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    order = factories.order(
        w,
        status=order_status,
        created_at=when,
        action_health=ActionHealth.FAILED
        if status == SnapshotStatus.FAILED
        else ActionHealth.PENDING,
    )
    snapshot_of(order, config, error, status=status, at=failed_at or when)
    return order


def snapshot_of(
    order: Order,
    config: ActionConfig,
    error: str,
    *,
    status: SnapshotStatus = SnapshotStatus.FAILED,
    at: dt.datetime | None = None,
) -> ActionSnapshot:
    """The order's snapshot of `config`, run once and left `status` with `error`."""
    return ActionSnapshot.objects.create(
        order=order,
        config=config,
        config_version=config.version,
        level=config.level,
        kind=config.kind,
        name=config.name,
        settings=config.settings,
        status=status,
        attempts=1,
        last_error=error,
        last_run_at=at or timezone.now(),
    )
