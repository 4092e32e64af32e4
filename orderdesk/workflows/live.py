"""What changed on the orders page since it was drawn (issue 15, point 4): the read model of
one poll.

The page polls (no connection held per watcher) with a cursor and what it shows: the version
of each of its rows, the newest row of its first page, and the version of the order open in
its panel. Most polls find nothing changed, and that answer costs one index probe
(`changes_since`): has any order of the checkout a change marker at or past the cursor?
Only then are the shown rows that changed read, the new orders counted and the counter
recounted (`live_changes`).

The marker is `Order.change_xid`, kept by a database trigger on every insert and update
(migration 0012): on PostgreSQL the id of the writing transaction, on SQLite a counter. The
cursor (`ChangeCursor`) is the snapshot the probe ran in: every order marked below its
`xmax` by a transaction not then running was visible to the probe and to every later read,
so the next probe asks for markers at or past `xmax` or among those running. A transaction
that was running is found however late it commits; a marker taken from a clock or a sequence
at write time could commit after a poll had moved past it. SQLite writes one transaction at a
time, so its counter commits in order and nothing is left running.

A poll without a cursor (the page's first, and the first after the table was drawn again)
compares every shown row's version, as any read of the table might have come from a lagging
replica; versions are `updated_at` (row) and the count and newest id of the order's timeline
events (panel: notes and action runs write events, not the order). The panel is compared at
every poll, by one query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, IntegerField, Max, OuterRef, Q, Subquery

from orderdesk.orders.models import Order, OrderEvent, OrderQuerySet
from orderdesk.orders.queries import COUNT_CAP, Cursor, OrderFilters, counts_capped
from orderdesk.workflows.search import search_orders
from orderdesk.workflows.table import ROW_FIELDS, TableRow, table_rows

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


# A snapshot with more transactions running than this is sent as its xmin alone (more rows
# look new at the next poll, none is missed): it keeps the page's URL short.
MAX_RUNNING = 64
_CURSOR = re.compile(r"(\d{1,19}):(\d{1,19}):((?:\d{1,19})(?:,\d{1,19})*)?")


@dataclass(frozen=True)
class ChangeCursor:
    """What a probe saw: every change marked below `xmax` and not in `running` was visible to
    it (PostgreSQL's snapshot: xmax, and the transactions still running then)."""

    xmax: int
    running: tuple[int, ...] = ()

    def encode(self) -> str:
        """The snapshot's own text form, `xmin:xmax:running,…`."""
        xmin = min(self.running, default=self.xmax)
        return f"{xmin}:{self.xmax}:{','.join(map(str, self.running))}"

    @classmethod
    def decode(cls, raw: str) -> ChangeCursor | None:
        """A cursor as the page sends it back; anything else is no cursor."""
        match = _CURSOR.fullmatch(raw)
        if match is None:
            return None
        xmin, xmax = int(match[1]), int(match[2])
        running = tuple(int(x) for x in match[3].split(",")) if match[3] else ()
        if xmin > xmax or len(running) > MAX_RUNNING or any(not xmin <= x < xmax for x in running):
            return None
        return cls(xmax=xmax, running=running)

    @classmethod
    def of_snapshot(cls, text: str) -> ChangeCursor:
        xmin, xmax, running = text.split(":")
        xids = tuple(int(x) for x in running.split(",")) if running else ()
        if len(xids) > MAX_RUNNING:
            return cls(xmax=int(xmin))
        return cls(xmax=int(xmax), running=xids)

    def q(self) -> Q:
        """The orders changed since: marked at or past `xmax`, or by a transaction then
        running (it may have committed since)."""
        q = Q(change_xid__gte=self.xmax)
        return q | Q(change_xid__in=self.running) if self.running else q


def _snapshot_sql() -> str:
    if connection.vendor == "postgresql":
        return "pg_current_snapshot()::text"
    # SQLite commits one writer at a time, in counter order: nothing is ever left running.
    return (
        "(SELECT (value + 1) || ':' || (value + 1) || ':' FROM orders_order_change_counter "
        "WHERE id = 1)"
    )


def _probe_sql(checkouts: int, running: int) -> str:
    ids = ", ".join(["%s"] * checkouts)
    changed = "SELECT 1 FROM orders_order WHERE checkout_id IN ({}) AND change_xid {}"
    # Each EXISTS is one descent of `order_checkout_change`.
    tests = [f"EXISTS ({changed.format(ids, '>= %s')})"]
    if running:
        among = "IN ({})".format(", ".join(["%s"] * running))
        tests.append(f"EXISTS ({changed.format(ids, among)})")
    # One statement, so one snapshot: the cursor it gives is that of the snapshot that found
    # nothing (or something) since the cursor it was given. Only placeholders are formatted
    # in; the values go as parameters.
    return "SELECT {}, {}".format(_snapshot_sql(), " OR ".join(tests))


@dataclass(frozen=True)
class Probe:
    # The cursor to send next time: what this probe's snapshot saw.
    cursor: ChangeCursor
    # Whether an order of the checkouts changed since the cursor asked about (always, with
    # none: the caller compares every row).
    changed: bool


def changes_since(checkout_ids: Collection[int], since: ChangeCursor | None) -> Probe:
    """One index probe (`order_checkout_change`; two if transactions were running at the
    last one): did any order of these checkouts change since `since`? Without a cursor it
    only takes one, before the caller's reads, and says "changed"."""
    with connection.cursor() as db:
        if since is None:
            db.execute(f"SELECT {_snapshot_sql()}")
            row = db.fetchone()
            return Probe(cursor=ChangeCursor.of_snapshot(row[0]), changed=True)
        ids = list(checkout_ids)
        params = [*ids, since.xmax]
        if since.running:
            params += [*ids, *since.running]
        db.execute(_probe_sql(len(ids), len(since.running)), params)
        row = db.fetchone()
    return Probe(cursor=ChangeCursor.of_snapshot(row[0]), changed=bool(row[1]))


def panel_changed(orders: OrderQuerySet, number: int, version: str) -> bool:
    """Whether the open order's panel version (`panel_version`) is no longer the database's:
    one query, the order by its unique number and its events' count and newest id."""
    events = OrderEvent.objects.filter(order_id=OuterRef("pk")).order_by().values("order_id")
    found = (
        orders.filter(number=number)
        .annotate(
            event_count=Subquery(
                events.annotate(n=Count("id")).values("n"), output_field=IntegerField()
            ),
            newest_event=Subquery(
                events.annotate(m=Max("id")).values("m"), output_field=IntegerField()
            ),
        )
        .values_list("updated_at", "event_count", "newest_event")
        .first()
    )
    if found is None:
        return True
    updated_at, count, newest = found
    return f"{row_version(updated_at)}.{count or 0}.{newest or 0}" != version


@dataclass(frozen=True)
class LiveChanges:
    # The watched rows whose order changed, read as the table reads its rows (`table_rows`).
    changed_rows: list[TableRow]
    # Orders newer than the first row that match the filters (None: not asked), capped.
    new_orders: int | None
    new_orders_capped: bool
    # Whether the panel's order changed.
    panel_changed: bool
    # `count_capped` of `also_count` (None: not asked).
    also_counted: tuple[int, bool] | None = None

    @property
    def changed_numbers(self) -> list[int]:
        return [row.order.number for row in self.changed_rows]


def _changed_orders(
    orders: OrderQuerySet, rows: Mapping[int, str], since: ChangeCursor | None
) -> list[Order]:
    """The watched orders whose version is not the one shown, as the table reads a row.

    Their versions first (with a cursor, only the rows marked since it): a cheap query, and
    most change polls find no shown row changed (the change was elsewhere in the checkout).
    Then the few that changed in full: the table's columns and attention reasons, which cost
    more to compile than to run, so they are not read for rows that did not change."""
    watched = list(rows)[:MAX_WATCHED]
    if not watched:
        return []
    marked = orders.filter(number__in=watched)
    if since is not None:
        marked = marked.filter(since.q())
    # A row gone from the scope has changed too, but has nothing to draw: it is left out.
    changed = [
        number
        for number, updated_at in marked.values_list("number", "updated_at")
        if row_version(updated_at) != rows[number]
    ]
    if not changed:
        return []
    in_full = orders.only(*ROW_FIELDS)
    return list(in_full.filter(number__in=changed).order_by("number"))


def live_changes(
    orders: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int],
    rows: Mapping[int, str],
    top: Cursor | None,
    panel: tuple[int, str] | None,
    since: ChangeCursor | None = None,
    also_count: OrderQuerySet | None = None,
) -> LiveChanges:
    """Compare what a page shows with the database: `rows` maps order numbers to the
    versions shown, `top` is the first page's newest row, `panel` the open order's number and
    version. `orders` is what the caller may see (the table's scope). With `since` (a cursor
    whose probe found changes) only the rows marked at or past it are read: the others have
    not changed; without it every row is. The changed rows come back as the table draws them
    (their lines and payment: two more queries, only when a row changed). `also_count` (the
    page's attention counter) is counted, up to COUNT_CAP, in the new orders' statement."""
    changed = table_rows(_changed_orders(orders, rows, since))
    panel_moved = panel is not None and panel_changed(orders, *panel)
    counted: list[tuple[OrderQuerySet, int]] = []
    if top is not None:
        newer = search_orders(orders, filters, checkout_ids=checkout_ids).filter(
            Q(created_at__gt=top.created_at) | Q(created_at=top.created_at, id__gt=top.id),
            created_at__gte=top.created_at,
        )
        counted.append((newer, NEW_ORDERS_CAP))
    if also_count is not None:
        counted.append((also_count, COUNT_CAP))
    counts = counts_capped(*counted)
    new_orders, capped = counts.pop(0) if top is not None else (None, False)
    return LiveChanges(
        changed_rows=changed,
        new_orders=new_orders,
        new_orders_capped=capped,
        panel_changed=panel_moved,
        also_counted=counts[0] if also_count is not None else None,
    )
