"""The open's INSERT … SELECT of action snapshots writes what `snapshot_actions` writes."""

from __future__ import annotations

from typing import Any

from orderdesk.actions.models import ActionSnapshot
from orderdesk.actions.services import snapshot_actions, snapshot_new_order
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders.models import OrderStatus
from orderdesk.testing import factories

FIELDS = [f.name for f in ActionSnapshot._meta.concrete_fields if f.name not in ("id", "order")]


def rows(order: Any) -> list[dict[str, Any]]:
    return list(order.action_snapshots.order_by("position").values(*FIELDS))


def test_it_takes_the_same_snapshots_as_snapshot_actions(world: factories.World) -> None:
    other_offer_config = factories.kajabi_action(
        world.checkout, url="http://kajabi.invalid/b/activate", offer=world.offer
    )
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Receipt",
        settings={"subject": "Thanks", "nested": {"ä": [1, 2]}},
        version=3,
    )
    factories.kajabi_action(
        world.checkout,
        level=ActionLevel.PRODUCT,
        url="http://kajabi.invalid/c/activate",
        product=world.course,
    )
    factories.kajabi_action(  # another product's: not on these orders
        world.checkout,
        level=ActionLevel.PRODUCT,
        url="http://kajabi.invalid/d/activate",
        product=world.coaching,
    )
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Off",
        is_active=False,
    )
    by_orm = factories.order(world, status=OrderStatus.STARTED)
    by_sql = factories.order(world, status=OrderStatus.STARTED)
    ActionSnapshot.objects.filter(order__in=[by_orm, by_sql]).delete()

    snapshot_actions(by_orm)
    snapshot_new_order(by_sql, by_sql.lines.values_list("product_id", flat=True))

    assert len(rows(by_sql)) == 3
    assert rows(by_sql) == rows(by_orm)
    assert rows(by_sql)[1]["config"] == other_offer_config.pk


def test_it_takes_none_when_nothing_is_configured(world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.STARTED)

    snapshot_new_order(order, [None, world.course.pk])

    assert not order.action_snapshots.exists()
