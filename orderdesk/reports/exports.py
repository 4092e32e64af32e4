"""The orders CSV: one row per order line, streamed in constant memory.

Orders are read through a server-side cursor in chunks; each chunk's lines and payment
attempts are fetched with one query each, written, and dropped before the next chunk is read,
so memory stays flat however many orders match.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from orderdesk.catalog.models import CheckoutLink, DiscountCode, Offer
from orderdesk.lib.money import major_str
from orderdesk.orders.models import LineKind, Order, OrderLine, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Provider

HEADER = (
    "Order number",
    "Created",
    "Paid",
    "Status",
    "Customer email",
    "First name",
    "Last name",
    "Country",
    "Region",
    "Currency",
    "Order total",
    "Discount code",
    "Discount amount",
    "Source",
    "Tags",
    "Checkout",
    "Checkout link",
    "Offer",
    "Payment provider",
    "Payment method",
    "Payment status",
    "Order refunded",
    "Line kind",
    "Product",
    "Quantity",
    "Unit price",
    "VAT rate",
    "VAT amount",
    "Line total",
    "Line refunded",
)

ORDER_COLUMNS = (
    "pk",
    "number",
    "created_at",
    "paid_at",
    "status",
    "customer_email",
    "first_name",
    "last_name",
    "country",
    "region",
    "currency",
    "total_minor",
    "discount_code_id",
    "discount_minor",
    "source",
    "tags",
    "checkout_id",
    "link_id",
    "offer_id",
    "refunded_minor",
)
LINE_COLUMNS = (
    "order_id",
    "kind",
    "name",
    "quantity",
    "unit_price_minor",
    "vat_rate",
    "vat_minor",
    "total_minor",
    "refunded_minor",
)
# A payment that went through describes the order better than a later failed retry.
SETTLED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
STATUS_LABELS = dict(OrderStatus.choices)
KIND_LABELS = dict(LineKind.choices)
PROVIDER_LABELS = dict(Provider.choices)
PAYMENT_STATUS_LABELS = dict(PaymentStatus.choices)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection)."""
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def timestamp(moment: dt.datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat() if moment else ""


class _Names:
    """Names of catalog rows, fetched per chunk as they first appear and then kept.

    Joining them into the orders cursor would make the database do a join per order; the
    catalog is small next to the orders, so remembering the names costs little memory.
    """

    def __init__(self, model: Any, column: str = "name") -> None:
        self.model = model
        self.column = column
        self.names: dict[int, str] = {}

    def load(self, ids: set[int | None]) -> None:
        missing = {i for i in ids if i is not None and i not in self.names}
        if missing:
            self.names.update(
                self.model.objects.filter(pk__in=missing).values_list("pk", self.column)
            )

    def __getitem__(self, pk: int | None) -> str:
        return escape(self.names.get(pk, "")) if pk is not None else ""


@lru_cache(maxsize=8192)
def _amount(amount_minor: int, currency: str) -> str:
    # Prices repeat across orders, so most amounts are a dictionary lookup.
    return major_str(amount_minor, currency)


def _payments(order_ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
    """The attempt that best describes each order's payment: the last settled, else the last."""
    chosen: dict[int, tuple[bool, tuple[str, str, str]]] = {}
    rows = (
        PaymentAttempt.objects.filter(order_id__in=order_ids)
        .order_by("created_at", "pk")
        .values_list("order_id", "provider", "method", "status")
    )
    for order_id, provider, method, status in rows:
        settled = status in SETTLED
        if order_id in chosen and chosen[order_id][0] and not settled:
            continue
        chosen[order_id] = (
            settled,
            (
                PROVIDER_LABELS.get(provider, provider),
                escape(method),
                PAYMENT_STATUS_LABELS.get(status, status),
            ),
        )
    return {order_id: payment for order_id, (_, payment) in chosen.items()}


def _lines(order_ids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
    lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "position", "pk")
        .values_list(*LINE_COLUMNS)
    )
    for row in rows:
        lines[row[0]].append(row)
    return lines


@dataclass
class _Catalog:
    checkouts: _Names = field(default_factory=lambda: _Names(Checkout))
    links: _Names = field(default_factory=lambda: _Names(CheckoutLink))
    offers: _Names = field(default_factory=lambda: _Names(Offer))
    codes: _Names = field(default_factory=lambda: _Names(DiscountCode, "code"))

    def load(self, chunk: list[tuple[Any, ...]]) -> None:
        self.codes.load({row[12] for row in chunk})
        self.checkouts.load({row[16] for row in chunk})
        self.links.load({row[17] for row in chunk})
        self.offers.load({row[18] for row in chunk})


def _rows(
    chunk: list[tuple[Any, ...]], tz: ZoneInfo, catalog: _Catalog
) -> Iterator[list[str | int]]:
    ids = [row[0] for row in chunk]
    lines = _lines(ids)
    payments = _payments(ids)
    catalog.load(chunk)
    no_payment = ("", "", "")
    no_line: list[str | int] = ["", "", "", "", "", "", "", ""]
    for (
        pk,
        number,
        created_at,
        paid_at,
        status,
        email,
        first_name,
        last_name,
        country,
        region,
        currency,
        total,
        discount_code_id,
        discount,
        source,
        tags,
        checkout_id,
        link_id,
        offer_id,
        refunded,
    ) in chunk:
        order_cells: list[str | int] = [
            number,
            timestamp(created_at, tz),
            timestamp(paid_at, tz),
            STATUS_LABELS.get(status, status),
            escape(email),
            escape(first_name),
            escape(last_name),
            country,
            escape(region),
            currency,
            _amount(total, currency),
            catalog.codes[discount_code_id],
            _amount(discount, currency),
            escape(source),
            escape(", ".join(tags or ())),
            catalog.checkouts[checkout_id],
            catalog.links[link_id],
            catalog.offers[offer_id],
            *payments.get(pk, no_payment),
            _amount(refunded, currency),
        ]
        order_lines = lines.get(pk)
        if not order_lines:
            yield order_cells + no_line
            continue
        for _, kind, name, quantity, unit, vat_rate, vat, line_total, line_refunded in order_lines:
            yield [
                *order_cells,
                KIND_LABELS.get(kind, kind),
                escape(name),
                quantity,
                _amount(unit, currency),
                str(vat_rate),
                _amount(vat, currency),
                _amount(line_total, currency),
                _amount(line_refunded, currency),
            ]


def stream_orders_csv(
    orders: QuerySet[Order], *, tz: ZoneInfo, chunk_size: int = 2000
) -> Iterator[str]:
    """Yield the CSV text: the header first, then one piece per chunk of orders."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    yield buffer.getvalue()

    connection = connections[orders.db]
    # A PostgreSQL cursor declared outside a transaction is WITH HOLD, which materialises the
    # whole result before the first row; inside one, rows stream as they are read. SQLite
    # streams either way, and a transaction there would block writers for the whole export.
    streaming_needs_transaction = connection.vendor == "postgresql"
    with transaction.atomic(using=orders.db) if streaming_needs_transaction else nullcontext():
        cursor = orders.values_list(*ORDER_COLUMNS).iterator(chunk_size=chunk_size)
        catalog = _Catalog()
        chunk: list[tuple[Any, ...]] = []
        for row in cursor:
            chunk.append(row)
            if len(chunk) == chunk_size:
                yield _write(buffer, writer, _rows(chunk, tz, catalog))
                chunk = []
        if chunk:
            yield _write(buffer, writer, _rows(chunk, tz, catalog))


def _write(buffer: io.StringIO, writer: Any, rows: Iterator[list[str | int]]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    return buffer.getvalue()


def orders_csv_response(
    orders: QuerySet[Order], *, tz: ZoneInfo, filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        stream_orders_csv(orders, tz=tz), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Tell proxies not to buffer the stream (nginx honours this header).
    response["X-Accel-Buffering"] = "no"
    return response
