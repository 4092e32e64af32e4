"""What changed on the orders page since it was drawn (issue 15, point 4): the read model of
one poll.

The page polls (no connection held per watcher) with what it shows: the version of each of
its rows, the newest row of its first page, and the version of the order open in its panel.
The answer names the rows whose order changed, counts the orders newer than the first row
that match the page's filters, and says whether the panel's order changed.

Versions are compared, not times: a row's version is its order's `updated_at`, which every
write of the order moves (`orders.transitions`, the services), and the panel's adds the count
and the largest id of the order's timeline events, which every action run, refund and note
writes. Asking "changed since T" would miss a transaction that began before T and committed
after it; "is this what you show" cannot. The rows are found by the unique index on
(organization, number), the new orders by `order_checkout_created` from the first row on,
and the events by `orderevent_order_created`: no new index, nothing added to order writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.db.models import Count, Max, Q

from orderdesk.orders.models import OrderEvent, OrderQuerySet
from orderdesk.orders.queries import Cursor, OrderFilters
from orderdesk.workflows.search import search_orders

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The bar says "99+ new orders" past this: counting further costs and tells nobody more.
NEW_ORDERS_CAP = 99
# The rows of one page and the panel's order.
MAX_WATCHED = 60


def row_version(updated_at: dt.datetime) -> str:
    """An order's version as its row shows it: `updated_at` in microseconds."""
    return str((updated_at - _EPOCH) // dt.timedelta(microseconds=1))


def panel_version(updated_at: dt.datetime, events: Collection[OrderEvent]) -> str:
    """The panel's version: the order's, and how many timeline events it has and the newest
    id (a count alone would not see one event replaced by another)."""
    newest = max((event.pk for event in events), default=0)
    return f"{row_version(updated_at)}.{len(events)}.{newest}"


@dataclass(frozen=True)
class LiveChanges:
    # Order numbers among the watched rows whose order changed (or is gone).
    changed_rows: list[int]
    # Orders newer than the first row that match the filters (None: not asked), capped.
    new_orders: int | None
    new_orders_capped: bool
    # Whether the panel's order changed.
    panel_changed: bool


def live_changes(
    orders: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int],
    rows: Mapping[int, str],
    top: Cursor | None,
    panel: tuple[int, str] | None,
) -> LiveChanges:
    """Compare what a page shows with the database: `rows` maps order numbers to the
    versions shown, `top` is the first page's newest row, `panel` the open order's number and
    version. `orders` is what the caller may see (the table's scope)."""
    watched = set(list(rows)[:MAX_WATCHED])
    if panel is not None:
        watched.add(panel[0])
    current: dict[int, tuple[int, dt.datetime]] = {}
    if watched:
        current = {
            number: (pk, updated_at)
            for number, pk, updated_at in orders.filter(number__in=watched).values_list(
                "number", "pk", "updated_at"
            )
        }
    changed = sorted(
        number
        for number, version in rows.items()
        if number in watched
        and (number not in current or row_version(current[number][1]) != version)
    )
    panel_changed = False
    if panel is not None:
        number, version = panel
        found = current.get(number)
        if found is None:
            panel_changed = True
        else:
            events = OrderEvent.objects.filter(order_id=found[0]).aggregate(
                count=Count("id"), newest=Max("id")
            )
            now = f"{row_version(found[1])}.{events['count']}.{events['newest'] or 0}"
            panel_changed = now != version
    new_orders, capped = None, False
    if top is not None:
        newer = search_orders(orders, filters, checkout_ids=checkout_ids).filter(
            Q(created_at__gt=top.created_at) | Q(created_at=top.created_at, id__gt=top.id),
            created_at__gte=top.created_at,
        )
        count = newer.order_by()[: NEW_ORDERS_CAP + 1].count()
        new_orders, capped = min(count, NEW_ORDERS_CAP), count > NEW_ORDERS_CAP
    return LiveChanges(
        changed_rows=changed,
        new_orders=new_orders,
        new_orders_capped=capped,
        panel_changed=panel_changed,
    )
