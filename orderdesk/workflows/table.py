"""The orders table's rows: what each row shows beyond the order itself (SPEC F1).

Shared by the web table and the staff API's order list, so both describe an order's
products and payment the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from orderdesk.orders.models import OrderLine
from orderdesk.payments.models import PaymentAttempt, PaymentStatus


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


def relevant_attempt(attempts: Sequence[RowAttempt]) -> RowAttempt | None:
    """The attempt that describes an order's payment (the table's and the API's Payment
    column): the latest that settled, else the latest of any status."""
    if not attempts:
        return None
    ordered = sorted(attempts, key=lambda a: (a.created_at, a.id))
    settled = [a for a in ordered if a.status in PaymentStatus.SETTLED]
    return (settled or ordered)[-1]


def table_row_parts(
    order_ids: list[int],
) -> tuple[dict[int, list[RowLine]], dict[int, list[RowAttempt]]]:
    """The lines and payment attempts a table row shows, per order id: two queries per page.

    Plain tuples instead of prefetched model instances: a page of rows is cheaper to build,
    and prefetch caches leave reference cycles (order → cache → line → order) for the garbage
    collector, whose pauses showed up in the table's p95.
    """
    lines: dict[int, list[RowLine]] = {pk: [] for pk in order_ids}
    attempts: dict[int, list[RowAttempt]] = {pk: [] for pk in order_ids}
    if not order_ids:
        return lines, attempts
    # No ORDER BY: the presenter sorts each order's few lines and attempts itself.
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
    return lines, attempts
