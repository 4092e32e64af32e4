"""The orders CSV: one row per order line, streamed in constant memory.

Order ids are read through a server-side cursor in chunks; each chunk becomes CSV text and is
yielded before the next one is read, so memory stays flat however many orders match. On
PostgreSQL one statement per chunk returns the chunk's finished CSV text; elsewhere each chunk's
lines and payment attempts are fetched with one query each and written by the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import batched
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from psycopg import sql

from orderdesk.catalog.models import CheckoutLink, DiscountCode, Offer
from orderdesk.lib.money import major_str, unusual_exponents
from orderdesk.lib.replica import in_this_context, replica_reads
from orderdesk.orders.models import LineKind, Order, OrderLine, OrderStatus
from orderdesk.orders.pricing import vat_share
from orderdesk.organizations.models import Checkout
from orderdesk.payments.methods import METHOD_LABELS, method_label
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Provider
from orderdesk.reports.queries import VatReport

# The column names programs read: English whatever the member's language. A file in the
# member's language (`language=`) translates them and the labels in the cells; amounts and
# times stay plain decimals and ISO 8601 in every file.
# Each name is written out inside gettext_noop, so that makemessages finds it: a name passed
# through a variable would never reach the Finnish and Swedish catalogues.
HEADER = (
    gettext_noop("Order number"),
    gettext_noop("Created"),
    gettext_noop("Paid"),
    gettext_noop("Status"),
    gettext_noop("Customer email"),
    gettext_noop("First name"),
    gettext_noop("Last name"),
    gettext_noop("Country"),
    gettext_noop("Region"),
    gettext_noop("Currency"),
    gettext_noop("Order total"),
    gettext_noop("Discount code"),
    gettext_noop("Discount amount"),
    gettext_noop("Source"),
    gettext_noop("Tags"),
    gettext_noop("Checkout"),
    gettext_noop("Checkout link"),
    gettext_noop("Offer"),
    gettext_noop("Payment provider"),
    gettext_noop("Payment method"),
    gettext_noop("Payment status"),
    gettext_noop("Order refunded"),
    gettext_noop("Line kind"),
    gettext_noop("Product"),
    gettext_noop("Quantity"),
    gettext_noop("Unit price"),
    gettext_noop("VAT rate"),
    gettext_noop("VAT amount"),
    gettext_noop("Line total"),
    gettext_noop("Line refunded"),
    # The VAT in what was refunded of the line, per its rate (orders.pricing.vat_share).
    gettext_noop("Line VAT refunded"),
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
STATUS_LABELS = dict(OrderStatus.choices)
KIND_LABELS = dict(LineKind.choices)
PROVIDER_LABELS = dict(Provider.choices)
PAYMENT_STATUS_LABELS = dict(PaymentStatus.choices)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BYTE_ORDER_MARK = "\ufeff"


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
        settled = status in PaymentStatus.SETTLED
        if order_id in chosen and chosen[order_id][0] and not settled:
            continue
        chosen[order_id] = (
            settled,
            (
                str(PROVIDER_LABELS.get(provider, provider)),
                escape(method_label(method)) if method else "",
                str(PAYMENT_STATUS_LABELS.get(status, status)),
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
    no_line: list[str | int] = ["", "", "", "", "", "", "", "", ""]
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
                _amount(vat_share(vat, line_total, line_refunded), currency),
            ]


# Orders per chunk: one statement each on PostgreSQL (~0.1 s of its CPU for 5,000 orders).
CHUNK_SIZE = 5000


def stream_orders_csv(
    orders: QuerySet[Order],
    *,
    tz: ZoneInfo,
    chunk_size: int | None = None,
    language: str = "en",
    excel: bool = False,
    ids: QuerySet[Any, int] | None = None,
) -> Generator[str, None, None]:
    """Yield the CSV text: the header first, then one piece per chunk of orders.

    `excel` starts the file with a UTF-8 byte order mark, by which Excel knows the encoding
    ("Järvinen", not "JÃ¤rvinen"); programs get the file without it, unchanged.
    `ids`, if given, are the ids of `orders` in their order, each once, read a cheaper way
    (`orders.queries.tag_index_ids`); on PostgreSQL they are read instead of `orders`' ids.

    On PostgreSQL the database writes the lines (see `_sql_pieces`);
    elsewhere Python does (`_python_pieces`). Both give the same bytes for the same data.
    Headers and labels are English unless `language` names another of settings.LANGUAGES.
    """
    chunk_size = chunk_size or CHUNK_SIZE
    # The file's language is the argument's, not the request's: the stream is written after
    # the view has returned. The orders may come from the read replica (lib/replica.py).
    with translation.override(language), replica_reads():
        buffer = io.StringIO()
        if excel:
            buffer.write(BYTE_ORDER_MARK)
        writer = csv.writer(buffer)
        writer.writerow([gettext(name) for name in HEADER])
        yield buffer.getvalue()
        if connections[orders.db].vendor == "postgresql":
            if ids is None:
                ids = _ids_in_order(orders)
            yield from _sql_pieces(ids, tz=tz, chunk_size=chunk_size, language=language)
        else:
            yield from _python_pieces(orders, tz=tz, chunk_size=chunk_size)


def _python_pieces(orders: QuerySet[Order], *, tz: ZoneInfo, chunk_size: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
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


# --- PostgreSQL: the database writes the CSV -------------------------------------------------
#
# Python spends ~30 µs a row turning database values into CSV cells (decoding, labels, time
# zones, amounts, quoting), which caps the export near 30,000 rows/s on one core. PostgreSQL
# does the same work in C while it reads the rows and hands over the chunk's lines joined into
# one text (`string_agg`: one value to receive and decode instead of a row per line), so Python
# only passes it on. The price is a second description of the cells, in SQL;
# `test_exports_parity` pins both to the same bytes. COPY ... (FORMAT csv) was measured too:
# writing 30 columns cost it ~10 µs a row here, more than building one text column does.
# Each chunk of order ids, read from the caller's queryset (its filters and its order),
# becomes one statement whose sort covers only that chunk, so the first rows go out after one
# chunk instead of after sorting every line of the export.


class _Params:
    """Named parameters for one statement, so the SQL text can be built in any order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s"


def _csv_cell(text: str) -> str:
    """A non-empty text as the csv module writes it in a row."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([text])
    return buffer.getvalue().removesuffix("\r\n")


def _sql_cell(text: str) -> str:
    """`_csv_cell` in SQL: quoted if it holds a comma, a quote or a line break; NULL is ''."""
    # strpos is a plain byte search; a regular expression first converts the text to wide
    # characters, which made quoting a third of the whole statement's time.
    special = " OR ".join(
        f"strpos({text}, {char}) > 0" for char in ("','", "'\"'", "chr(10)", "chr(13)")
    )
    return (
        f"CASE WHEN {special} THEN '\"' || replace({text}, '\"', '\"\"') || '\"'"
        f" ELSE coalesce({text}, '') END"
    )


def _sql_escaped(column: str) -> str:
    """`escape` in SQL."""
    # ascii() is the code of the first character: one integer test instead of a substring.
    codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
    return f"CASE WHEN ascii({column}) IN ({codes}) THEN chr(39) || {column} ELSE {column} END"


def _sql_label(column: str, labels: dict[str, Any], param: _Params) -> str:
    whens = " ".join(
        f"WHEN {param(str(value))} THEN {param(_csv_cell(str(label)))}"
        for value, label in labels.items()
    )
    return f"CASE {column} {whens} ELSE {_sql_cell(column)} END"


def _sql_method_label(column: str, param: _Params) -> str:
    """`method_label` in SQL: the known codes' labels, any other code made readable as
    `method_label` does (underscores to spaces, the first letter upper case), then escaped."""
    whens = " ".join(
        f"WHEN {param(code)} THEN {param(_csv_cell(escape(str(label))))}"
        for code, label in METHOD_LABELS.items()
    )
    spaced = f"replace({column}, '_', ' ')"
    readable = f"upper(left({spaced}, 1)) || lower(substr({spaced}, 2))"
    return f"CASE {column} {whens} ELSE {_sql_cell(_sql_escaped(readable))} END"


def _sql_amount(column: str) -> str:
    # `unit` is 0.01, 0.001, 1...: the product has exactly the currency's decimals.
    return f"coalesce(({column}::numeric * unit)::text, '')"


def _sql_timestamp(moment: str) -> str:
    """`datetime.astimezone(tz).isoformat()` in SQL: `2026-03-02T10:00:00+02:00`.

    Reads the `<moment>_local` and `<moment>_offset` columns of `fetched`.
    """
    local, offset = f"{moment}_local", f"{moment}_offset"
    pattern = f"CASE WHEN extract(second FROM {offset}) = 0 THEN 'HH24:MI' ELSE 'HH24:MI:SS' END"
    return (
        f"coalesce(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_trunc('second', {local}) = {local} THEN ''"
        f" ELSE to_char({local}, '.US') END"
        f" || CASE WHEN {offset} < interval '0' THEN '-' || to_char(-{offset}, {pattern})"
        f" ELSE '+' || to_char({offset}, {pattern}) END, '')"
    )


@lru_cache(maxsize=16)
def _lines_statement(language: str) -> tuple[str, dict[str, Any]]:
    """The CSV lines of one chunk of orders, and the parameters but the ids and time zone.

    Three levels, the inner two fenced with OFFSET 0 so that PostgreSQL does not fold them
    into the outer one: it would then repeat each order's work (time zones, tags, labels) for
    each of its lines, and each expression for each place that reads it.
    Cached per language because the labels are translated.
    """
    param = _Params()
    units: dict[int, list[str]] = defaultdict(list)
    for code, exponent in unusual_exponents().items():
        units[exponent].append(code)
    unit = " ".join(
        f"WHEN o.currency = ANY({param(codes)}::text[]) THEN {Decimal(1).scaleb(-exponent)}"
        for exponent, codes in sorted(units.items())
    )
    tables = {
        "order": Order._meta.db_table,
        "line": OrderLine._meta.db_table,
        "attempt": PaymentAttempt._meta.db_table,
        "checkout": Checkout._meta.db_table,
        "link": CheckoutLink._meta.db_table,
        "offer": Offer._meta.db_table,
        "code": DiscountCode._meta.db_table,
    }
    order_cells = [
        "number::text",
        _sql_timestamp("created"),
        _sql_timestamp("paid"),
        _sql_label("status", STATUS_LABELS, param),
        _sql_cell("customer_email"),
        _sql_cell("first_name"),
        _sql_cell("last_name"),
        _sql_cell("country"),
        _sql_cell("region"),
        _sql_cell("currency"),
        _sql_amount("total_minor"),
        _sql_cell("code"),
        _sql_amount("discount_minor"),
        _sql_cell("source"),
        _sql_cell("tags"),
        _sql_cell("checkout"),
        _sql_cell("link"),
        _sql_cell("offer"),
        _sql_label("provider", PROVIDER_LABELS, param),
        _sql_method_label("method", param),
        _sql_label("payment_status", PAYMENT_STATUS_LABELS, param),
        _sql_amount("refunded_minor"),
    ]
    line_cells = [
        _sql_label("order_line.kind", KIND_LABELS, param),
        _sql_cell(_sql_escaped("order_line.name")),
        "coalesce(order_line.quantity::text, '')",
        _sql_amount("order_line.unit_price_minor"),
        "coalesce(order_line.vat_rate::text, '')",
        _sql_amount("order_line.vat_minor"),
        _sql_amount("order_line.total_minor"),
        _sql_amount("order_line.refunded_minor"),
        # round(numeric) rounds halves away from zero: half-up for these positive amounts.
        _sql_amount(
            "CASE WHEN order_line.total_minor > 0 THEN round(order_line.vat_minor::numeric"
            " * order_line.refunded_minor / order_line.total_minor)"
            " WHEN order_line.total_minor IS NOT NULL THEN 0 END"
        ),
    ]
    assert len(order_cells) + len(line_cells) == len(HEADER)
    # One concat_ws instead of a chain of ||, which would copy the growing line at each step.
    # It skips NULLs, so every cell above is made non-NULL.
    prefix = "concat_ws(',',\n      " + ",\n      ".join(order_cells) + ")"
    line = "concat_ws(',',\n  " + ",\n  ".join(["prefix", *line_cells]) + ")"
    settled = param(sorted(PaymentStatus.SETTLED))
    # Only identifiers and expressions of our own are interpolated; values go in as parameters.
    statement = f"""SELECT string_agg(
  {line} || E'\\r\\n', ''
  ORDER BY cells.position, order_line.position, order_line.id
)
FROM (
  SELECT
    position,
    id,
    unit,
    {prefix} AS prefix
  FROM (
    SELECT
      chunk.position,
      o.id,
      o.number,
      o.status,
      {_sql_escaped("o.customer_email")} AS customer_email,
      {_sql_escaped("o.first_name")} AS first_name,
      {_sql_escaped("o.last_name")} AS last_name,
      o.country,
      {_sql_escaped("o.region")} AS region,
      o.currency,
      o.total_minor,
      o.discount_minor,
      o.refunded_minor,
      {_sql_escaped("o.source")} AS source,
      o.created_at AT TIME ZONE zone.name AS created_local,
      (o.created_at AT TIME ZONE zone.name) - (o.created_at AT TIME ZONE 'UTC') AS created_offset,
      o.paid_at AT TIME ZONE zone.name AS paid_local,
      (o.paid_at AT TIME ZONE zone.name) - (o.paid_at AT TIME ZONE 'UTC') AS paid_offset,
      CASE {unit} ELSE 0.01 END AS unit,
      {_sql_escaped("tag_list.tags")} AS tags,
      {_sql_escaped("discount_code.code")} AS code,
      {_sql_escaped("checkout.name")} AS checkout,
      {_sql_escaped("checkout_link.name")} AS link,
      {_sql_escaped("offer.name")} AS offer,
      payment.provider,
      payment.method,
      payment.status AS payment_status
    FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS chunk(id, position)
    JOIN {tables["order"]} o ON o.id = chunk.id
    CROSS JOIN (SELECT %(tz)s::text AS name) zone
    CROSS JOIN LATERAL (
      SELECT CASE WHEN jsonb_typeof(o.tags) = 'array' THEN array_to_string(ARRAY(
        SELECT tag FROM jsonb_array_elements_text(o.tags) WITH ORDINALITY AS t(tag, n) ORDER BY n
      ), ', ') END AS tags
      OFFSET 0
    ) tag_list
    LEFT JOIN {tables["checkout"]} checkout ON checkout.id = o.checkout_id
    LEFT JOIN {tables["link"]} checkout_link ON checkout_link.id = o.link_id
    LEFT JOIN {tables["offer"]} offer ON offer.id = o.offer_id
    LEFT JOIN {tables["code"]} discount_code ON discount_code.id = o.discount_code_id
    LEFT JOIN LATERAL (
      SELECT a.provider, a.method, a.status FROM {tables["attempt"]} a
      WHERE a.order_id = o.id
      ORDER BY a.status = ANY({settled}::text[]) DESC, a.created_at DESC, a.id DESC
      LIMIT 1
    ) payment ON true
    OFFSET 0
  ) fetched
  OFFSET 0
) cells
LEFT JOIN {tables["line"]} order_line ON order_line.order_id = cells.id"""  # noqa: S608
    return statement, param.values


# The first chunk is small, so its lines go out after a few tens of milliseconds whatever the
# export's size; the rest come in chunks of `chunk_size`.
FIRST_CHUNK = 1000
PK_NAMES = ("pk", "-pk", "id", "-id")


def _ids_in_order(orders: QuerySet[Order]) -> QuerySet[Any, int]:
    """The ids of `orders` in their order, made total with the primary key."""
    ordering = list(orders.query.order_by) or (
        list(orders.model._meta.ordering or ()) if orders.query.default_ordering else []
    )
    ids = orders.values_list("pk", flat=True)
    if not ordering or ordering[-1] not in PK_NAMES:
        ids = ids.order_by(*ordering, "pk")
    return ids


def _order_ids(ids: QuerySet[Any, int], connection: Any, chunk_size: int) -> Iterator[list[int]]:
    """`ids` (totally ordered) in chunks: the first as soon as possible, the whole list at
    the least total cost.

    One cursor would need one plan for both, and PostgreSQL plans a cursor for its first
    tenth (`cursor_tuple_fraction`): with a tag or free text that means walking every order
    of the checkout newest first and testing each one (1.1 s for 20,000 ids of a rare tag on
    a million orders), where reading the matches from their index and sorting them takes
    0.15 s. So the first chunk is a LIMIT query, planned to start fast, and the rest is a
    cursor over the same query after it, planned for its total cost. Both read one snapshot
    (the export's transaction is REPEATABLE READ), and the order is made total with the
    primary key, so the rest starts exactly where the first chunk ended.
    """
    first = min(FIRST_CHUNK, chunk_size)
    head = list(ids[:first])
    if head:
        yield head
    if len(head) < first:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('cursor_tuple_fraction', '1', true)")
    yield from (list(chunk) for chunk in batched(ids[first:].iterator(chunk_size), chunk_size))


# Chunks of at least this many orders are split between the export's connection and a helper.
SPLIT_MIN = 200


class _Helper:
    """A second connection that reads the export's snapshot and writes half of each chunk.

    PostgreSQL runs one statement on one core, and the chunk statements are most of an
    export's time (~20-25 µs a scattered order), so a second backend writes the second half of
    each chunk while the export's writes the first (a third to a half less time for the small
    filtered exports where a core was free: `docs/benchmarks.md`). The helper imports the export transaction's snapshot (`pg_export_snapshot`, also on a standby), so it
    sees exactly the orders the ids were read from. Its statements run in a thread, which waits
    on the socket with the GIL released.
    """

    def __init__(self, connection: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-export")
        # Connecting (a backend start, 3-8 ms) overlaps the reading of the first ids.
        self.ready = self.executor.submit(
            self._connect, connection.get_connection_params(), snapshot, connection.timezone_name
        )

    @staticmethod
    def _connect(params: dict[str, Any], snapshot: str, time_zone: str) -> psycopg.Connection[Any]:
        helper = psycopg.connect(**params)
        try:
            helper.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            helper.read_only = True
            # The first statement of its transaction, as SET TRANSACTION SNAPSHOT must be.
            helper.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            # The export's session settings (Django sets the time zone on its connections;
            # the statement names its zones, so this only keeps the two sessions alike).
            helper.execute(
                "SELECT set_config('jit', 'off', true), set_config('TimeZone', %s, true)",
                (time_zone,),
            )
        except BaseException:
            helper.close()
            raise
        return helper

    def submit(self, statement: str, params: dict[str, Any]) -> Future[str]:
        return self.executor.submit(self._run, statement, params)

    def _run(self, statement: str, params: dict[str, Any]) -> str:
        helper = self.ready.result()
        with helper.cursor() as cursor:
            cursor.execute(statement, params)
            row = cursor.fetchone()
        return (row[0] if row else None) or ""

    def unavailable(self) -> bool:
        """Whether the helper could not connect (then the export's connection does it all)."""
        return self.ready.done() and (self.ready.cancelled() or self.ready.exception() is not None)

    def close(self) -> None:
        # Waits for a statement still running (a client gone mid-export), then ends the
        # helper's read-only transaction with its connection.
        self.executor.shutdown(wait=True, cancel_futures=True)
        if not self.ready.cancelled() and self.ready.exception() is None:
            self.ready.result().close()


def _sql_pieces(
    ids: QuerySet[Any, int], *, tz: ZoneInfo, chunk_size: int, language: str
) -> Iterator[str]:
    connection = connections[ids.db]
    statement, params = _lines_statement(language)
    # The first chunk and the rest are two statements (see `_order_ids`): they must see the
    # same orders. Inside a caller's transaction its isolation level stands, and one cursor
    # reads the ids.
    own_transaction = not connection.in_atomic_block
    # Inside a transaction so the ids cursor streams (see `_python_pieces`).
    with transaction.atomic(using=ids.db):
        with connection.cursor() as cursor:
            if own_transaction:
                # Read-only, so it never fails to serialize; also one snapshot for every chunk.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Compiling each chunk's statement to machine code costs more than it saves.
            cursor.execute("SELECT set_config('jit', 'off', true)")
        helper: _Helper | None = None
        if own_transaction:
            # Only a snapshot of our own is shared: a caller's transaction (tests) may hold
            # writes that another connection cannot see.
            helper = _Helper(connection)
            chunks = _order_ids(ids, connection, chunk_size)
        else:
            chunks = (
                list(chunk) for chunk in batched(ids.iterator(chunk_size=chunk_size), chunk_size)
            )

        def run(chunk: list[int]) -> str:
            with connection.cursor() as cursor:
                cursor.execute(statement, {**params, "ids": chunk, "tz": tz.key})
                row = cursor.fetchone()
            return (row[0] if row else None) or ""

        try:
            chunk = next(chunks, None)
            while chunk is not None:
                if helper is not None and helper.unavailable():
                    helper.close()
                    helper = None
                if helper is None or len(chunk) < SPLIT_MIN:
                    yield run(chunk)
                    chunk = next(chunks, None)
                    continue
                # The helper writes the second half while this connection writes the first.
                half = len(chunk) // 2
                second = helper.submit(statement, {**params, "ids": chunk[half:], "tz": tz.key})
                yield run(chunk[:half])
                # This connection reads the next chunk's ids (~2 µs an id in Python, 10 ms a
                # full chunk) while the helper is still writing, rather than after it.
                following = next(chunks, None)
                if helper.unavailable():
                    yield run(chunk[half:])
                else:
                    with connection.wrap_database_errors:
                        yield second.result()
                chunk = following
        finally:
            if helper is not None:
                helper.close()


def orders_csv_response(
    orders: QuerySet[Order],
    *,
    tz: ZoneInfo,
    filename: str,
    language: str = "en",
    excel: bool = False,
    ids: QuerySet[Any, int] | None = None,
) -> StreamingHttpResponse:
    """`stream_orders_csv` as a download; `ids` as there."""
    response = StreamingHttpResponse(
        # Read where the view would (a request pinned to the primary stays pinned).
        in_this_context(stream_orders_csv(orders, tz=tz, language=language, excel=excel, ids=ids)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Customer data: no browser cache or proxy keeps a copy.
    response["Cache-Control"] = "no-store"
    # Tell proxies not to buffer the stream (nginx honours this header).
    response["X-Accel-Buffering"] = "no"
    return response


# --- VAT per rate ----------------------------------------------------------------------------

# Written out (not a loop over names) so makemessages finds them for `?headers=local`.
VAT_HEADER = (
    gettext_noop("Currency"),
    gettext_noop("VAT rate"),
    gettext_noop("Sales taxable base"),
    gettext_noop("Sales VAT"),
    gettext_noop("Sales gross"),
    gettext_noop("Refunds taxable base"),
    gettext_noop("Refunds VAT"),
    gettext_noop("Refunds gross"),
    gettext_noop("Net taxable base"),
    gettext_noop("Net VAT"),
    gettext_noop("Net gross"),
)


def vat_csv(report: VatReport, *, language: str = "en") -> str:
    """The report's VAT per rate, one row per currency and rate, amounts in major units.

    A refund's part that no product line holds has an empty rate (see `VatRateRow.rate`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with translation.override(language):
        writer.writerow([gettext(name) for name in VAT_HEADER])
    for row in report.rows:
        currency = row.currency
        writer.writerow(
            [
                currency,
                "" if row.rate is None else format(row.rate.normalize(), "f"),
                *(
                    major_str(amount, currency)
                    for part in (row.sales, row.refunds, row.net)
                    for amount in (part.net_minor, part.vat_minor, part.gross_minor)
                ),
            ]
        )
    return buffer.getvalue()


def vat_csv_response(report: VatReport, *, filename: str, language: str = "en") -> HttpResponse:
    response = HttpResponse(
        vat_csv(report, language=language), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
