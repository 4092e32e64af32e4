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

from orderdesk.orders.models import Order, OrderLine, OrderQuerySet
from orderdesk.orders.queries import PAGE_SIZE, Cursor, OrderFilters, page_orders
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
    """One order of the table: its products in position order and the payment attempt that
    describes its payment (None before the first)."""

    order: Order
    products: list[RowLine]
    payment: RowAttempt | None


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


def table_page(
    orders: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int],
    cursors: PageCursors | None = None,
    size: int = PAGE_SIZE,
) -> TablePage:
    """One page of `orders` (already scoped to what the caller may see) matching `filters`,
    newest first: one query for the page and two for its rows, whatever its size."""
    cursors = cursors or PageCursors()
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


def relevant_attempt(attempts: Sequence[RowAttempt]) -> RowAttempt | None:
    """The attempt that describes an order's payment (the table's and the API's Payment
    column): the latest that settled, else the latest of any status."""
    if not attempts:
        return None
    ordered = sorted(attempts, key=BY_TIME)
    settled = [a for a in ordered if a.status in PaymentStatus.SETTLED]
    return (settled or ordered)[-1]


def table_rows(orders: list[Order]) -> list[TableRow]:
    """The rows of these orders, with their lines and payment attempts: two queries.

    Plain tuples instead of prefetched model instances: a page of rows is cheaper to build,
    and prefetch caches leave reference cycles (order → cache → line → order) for the garbage
    collector, whose pauses showed up in the table's p95.
    """
    if not orders:
        return []
    order_ids = [order.pk for order in orders]
    lines: dict[int, list[RowLine]] = {pk: [] for pk in order_ids}
    attempts: dict[int, list[RowAttempt]] = {pk: [] for pk in order_ids}
    # No ORDER BY: each order's few lines and attempts are sorted here.
    for order_id, kind, name, position in (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by()
        .values_list("order_id", "kind", "name", "position")
    ):
        lines[order_id].append(RowLine(kind, name, position))
    for order_id, pk, provider, method, status, created_at in (
        PaymentAttempt.objects.filter(order_id__in=order_ids)
        .order_by()
        .values_list("order_id", "id", "provider", "method", "status", "created_at")
    ):
        attempts[order_id].append(RowAttempt(pk, provider, method, status, created_at))
    return [
        TableRow(
            order=order,
            products=sorted(lines[order.pk], key=BY_POSITION),
            payment=relevant_attempt(attempts[order.pk]),
        )
        for order in orders
    ]
