"""The orders table's page (SPEC F1, F2): its rows, its cursors and what it knows of the count.

Read by the web table and the staff API's order list: both hand in the orders their caller
may see and the parsed filters, and describe each order's products and payment the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from django.db import connections, router
from django.utils import timezone

from orderdesk.lib.replica import reads_replica
from orderdesk.lib.rows import fields_of, read_values
from orderdesk.orders.models import (
    AttentionReason,
    Order,
    OrderLine,
    OrderQuerySet,
    attention_reasons_at,
)
from orderdesk.orders.queries import (
    PAGE_SIZE,
    Cursor,
    OrderFilters,
    OrderPage,
    count_capped,
    only_text_words,
    page_orders,
    search_words,
)
from orderdesk.orders.text_statistics import text_share
from orderdesk.payments.models import PaymentAttempt, PaymentStatus
from orderdesk.workflows.search import search_orders


class RowLine(NamedTuple):
    kind: str
    name: str
    position: int


class RowAttempt(NamedTuple):
    id: int
    provider: str
    method: str
    status: str
    created_at: dt.datetime


# Sort keys in C: a page sorts the lines and attempts of each of its rows.
BY_POSITION = attrgetter("position")
BY_TIME = attrgetter("created_at", "id")


@dataclass(frozen=True)
class TableRow:
    """One order of the table: its products in position order, the payment attempt that
    describes its payment (None before the first), and why it requires attention now (none
    when it does not)."""

    order: Order
    products: list[RowLine]
    payment: RowAttempt | None
    attention_reasons: list[AttentionReason]


@dataclass(frozen=True)
class PageCursors:
    """Where a page starts: `after` a row for older orders, `before` one for newer orders."""

    after: Cursor | None = None
    before: Cursor | None = None

    @classmethod
    def read(cls, *, after: str = "", before: str = "") -> tuple[PageCursors, list[str]]:
        """The cursors of a page request, and the names of those that are not cursors."""
        cursors: dict[str, Cursor | None] = {}
        invalid = []
        for name, raw in (("after", after), ("before", before)):
            cursors[name] = Cursor.decode(raw) if raw else None
            if raw and cursors[name] is None:
                invalid.append(name)
        return cls(**cursors), invalid


@dataclass(frozen=True)
class TablePage:
    rows: list[TableRow]
    newer: Cursor | None  # pass as `before` for the newer page
    older: Cursor | None  # pass as `after` for the older page
    is_first: bool
    # The number of matching orders when this page holds them all; None when it has to be
    # counted on its own (count_capped), which can cost more than the page.
    count: int | None

    @classmethod
    def empty(cls) -> TablePage:
        """What is shown when no page can be read (bad filters, no checkout)."""
        return cls(rows=[], newer=None, older=None, is_first=True, count=0)


# The columns a row shows (web and API). The rest of an order (its search text, address, user
# agent, extra fields: most of the row's bytes) is left in the database: fetching and decoding
# it cost about a tenth of a page's Python time.
ROW_FIELDS = (
    "organization_id",
    "checkout_id",
    "number",
    "status",
    "action_health",
    "dispute_open",
    "refund_reversal_open",
    "currency",
    "total_minor",
    "refunded_minor",
    "customer_email",
    "first_name",
    "last_name",
    "country",
    "source",
    "tags",
    "created_at",
    "paid_at",
    # The row's version, which live updates compare (workflows.live).
    "updated_at",
)


@reads_replica
def table_page(
    orders: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int],
    cursors: PageCursors | None = None,
    size: int = PAGE_SIZE,
) -> TablePage:
    """One page of `orders` (already scoped to what the caller may see) matching `filters`,
    newest first: one query for the page and two for its rows, whatever its size. Each row
    knows the reasons it requires attention (from the columns it loads)."""
    cursors = cursors or PageCursors()
    orders = orders.only(*ROW_FIELDS)
    page = None
    if cursors.before is None and only_text_words(filters.q):
        page = _page_in_window(orders, filters, checkout_ids, after=cursors.after, size=size)
    if page is None:
        page = page_orders(
            search_orders(orders, filters, checkout_ids=checkout_ids),
            after=cursors.after,
            before=cursors.before,
            size=size,
        )
    return TablePage(
        rows=table_rows(page.orders),
        newer=page.newer,
        older=page.older,
        is_first=page.is_first,
        count=len(page.orders) if page.is_first and page.older is None else None,
    )


@reads_replica
def table_count(
    orders: OrderQuerySet, filters: OrderFilters, *, checkout_ids: Collection[int]
) -> tuple[int, bool]:
    """How many of `orders` match `filters`, up to COUNT_CAP, and whether there are more."""
    return count_capped(search_orders(orders, filters, checkout_ids=checkout_ids))


# How many of the newest orders a free-text search reads before it asks the trigram index:
# a short look first, then, if that found some matches but not a page of them, a longer one.
SEARCH_WINDOWS = (5_000, 20_000)


def _page_in_window(
    orders: OrderQuerySet,
    filters: OrderFilters,
    checkout_ids: Collection[int],
    *,
    after: Cursor | None,
    size: int,
) -> OrderPage | None:
    """The page of a free-text search found among the newest orders (after the cursor), or
    None when the windows hold less than a page.

    Words shared by thousands of orders (a common full name) made PostgreSQL fetch every
    match through the trigram index and sort them, 40-90 ms; walking the newest orders and
    testing the stored `search_text` finds the first page of such a search in a few
    milliseconds. The window (its edge found from the index alone) bounds the walk. A rare
    word the trigram index finds at once, and walking a window for it is time lost: the
    column's statistics (`orders.text_statistics`) say which windows are worth walking.
    """
    windows = _windows_worth_walking(filters.q, size)
    if not windows:
        return None
    matching = search_orders(orders, filters, checkout_ids=checkout_ids, text_index=False)
    for window in windows:
        edge = _window_edge(checkout_ids, after, window)
        if edge is None:
            return None
        page = page_orders(matching.filter(created_at__gte=edge), after=after, size=size)
        # Only a full page (one more row than shown) proves no older match belongs on it.
        if page.older is not None:
            return page
        if not page.orders:
            return None
    return None


def _windows_worth_walking(q: str, size: int) -> tuple[int, ...]:
    """The windows a search for `q` walks, shortest first: none when its words are expected
    in fewer than a page of the longest window (the trigram index then finds them at once),
    else from the shortest one expected to hold two pages. Without statistics, every window
    (a word the first window does not hold at all ends the walk there)."""
    share = text_share(search_words(q), using=router.db_for_read(Order))
    if share is None:
        return SEARCH_WINDOWS
    if share * SEARCH_WINDOWS[-1] <= size:
        return ()
    # Two pages, so that a page is all but certain where one is expected.
    return tuple(w for w in SEARCH_WINDOWS if share * w >= 2 * size) or SEARCH_WINDOWS[-1:]


_CREATED_AT = fields_of(Order, "created_at")


def _window_edge(
    checkout_ids: Collection[int], after: Cursor | None, window: int
) -> dt.datetime | None:
    """When the `window`-th newest order of the checkouts (after the cursor) was created;
    None when they hold fewer. Only the checkouts (already the caller's): an index-only scan
    of order_checkout_created. Written out (lib.rows): a search that finds nothing reads it
    before it asks the trigram index, and the ORM's form cost ~0.4 ms to build and compile."""
    ids = list(checkout_ids)
    if not ids:
        return None
    marks = ", ".join(["%s"] * len(ids))
    params: list[object] = [*ids]
    older = ""
    if after is not None:
        # As the ORM sends a time (SQLite stores UTC text without an offset).
        connection = connections[router.db_for_read(Order)]
        at = _CREATED_AT[0].get_db_prep_value(after.created_at, connection)
        older = " AND (created_at < %s OR (created_at = %s AND id < %s)) AND created_at <= %s"
        params += [at, at, after.id, at]
    rows = read_values(
        f"SELECT created_at FROM {Order._meta.db_table}"  # noqa: S608 - names from the model
        f" WHERE checkout_id IN ({marks}){older}"
        " ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET %s",
        [*params, window - 1],
        _CREATED_AT,
    )
    return rows[0][0] if rows else None


def relevant_attempt(attempts: Sequence[RowAttempt]) -> RowAttempt | None:
    """The attempt that describes an order's payment (the table's and the API's Payment
    column): the latest that settled, else the latest of any status."""
    if not attempts:
        return None
    ordered = sorted(attempts, key=BY_TIME)
    settled = [a for a in ordered if a.status in PaymentStatus.SETTLED]
    return (settled or ordered)[-1]


_LINE_FIELDS = fields_of(OrderLine, "order", "kind", "name", "position")
_ATTEMPT_FIELDS = fields_of(
    PaymentAttempt, "order", "id", "provider", "method", "status", "created_at"
)


def table_rows(orders: list[Order], now: dt.datetime | None = None) -> list[TableRow]:
    """The rows of these orders, with their lines and payment attempts (two queries), and
    the reasons each requires attention at `now` (default: now).

    Plain tuples instead of prefetched model instances: a page of rows is cheaper to build,
    and prefetch caches leave reference cycles (order → cache → line → order) for the garbage
    collector, whose pauses showed up in the table's p95.
    """
    if not orders:
        return []
    order_ids = [order.pk for order in orders]
    lines: dict[int, list[RowLine]] = {pk: [] for pk in order_ids}
    attempts: dict[int, list[RowAttempt]] = {pk: [] for pk in order_ids}
    marks = ", ".join(["%s"] * len(order_ids))
    # Written out (lib.rows.read_values): as two ORM queries they cost more to build and
    # compile (~0.9 ms of CPU) than to run. No ORDER BY: each order's few rows are sorted here.
    for order_id, kind, name, position in read_values(
        f"SELECT order_id, kind, name, position FROM {OrderLine._meta.db_table}"  # noqa: S608
        f" WHERE order_id IN ({marks})",
        order_ids,
        _LINE_FIELDS,
    ):
        lines[order_id].append(RowLine(kind, name, position))
    for order_id, pk, provider, method, status, created_at in read_values(
        f"SELECT order_id, id, provider, method, status, created_at"  # noqa: S608
        f" FROM {PaymentAttempt._meta.db_table} WHERE order_id IN ({marks})",
        order_ids,
        _ATTEMPT_FIELDS,
    ):
        attempts[order_id].append(RowAttempt(pk, provider, method, status, created_at))
    now = now or timezone.now()
    return [
        TableRow(
            order=order,
            products=sorted(lines[order.pk], key=BY_POSITION),
            payment=relevant_attempt(attempts[order.pk]),
            attention_reasons=attention_reasons_at(order, now),
        )
        for order in orders
    ]
