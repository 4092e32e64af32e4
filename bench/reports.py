"""Benchmark of the reports page and the CSV export on a big PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/reports.py
    DATABASE_URL=... uv run python bench/reports.py --csv-only
    DATABASE_URL=... uv run python bench/reports.py --tabs-only --converted \
        --tz America/New_York --tz Asia/Kolkata --granularity day --granularity month

Tabs: each tab of /reports/ for "last 30 days" and "this year" (per currency, and converted to
EUR) through Django's full request handler as the owner of the biggest checkout; p50/p95 server
time, and in the same run the p95 of the bare aggregate SQL (revenue and orders per currency of
the same paid orders, one statement on the orders table) and of the same aggregate as the page
now reads it (the daily rollup's settled days plus the live rest), each with the ratio. Build
the rollup first (`manage.py roll_up_reports`; `generate_orders` does it).

`--tz ZONE` (repeatable; `org` is the organization's zone, the default) runs every case in
that time zone; its two SQL columns are left empty (measured in the organization's zone, they
hardly depend on it). Another zone than the organization's reads its own days (`ZoneDay`),
as a zone a member reports in: the benchmark first builds them as the worker's rollup would
(and prints how long that took; this writes to the database). `--zone-days hourly` instead
reads what a zone reads before its days are built: the hourly rollup. `--granularity`
(repeatable: day, week, month; default the automatic one) sets the charts' buckets.

CSV: every order's lines through `stream_orders_csv` (the code behind both Download CSV
buttons), each export in a fresh child process so its peak RSS is its own: time to the first
data row, rows per second, peak RSS. Then the same rows through django-import-export's
`ModelResource.export()` for comparison. Nothing is written to the database.

Orders table CSV (`--table-csv-only`): `GET /orders/export.csv?…` through Django's full request
handler as the owner of the biggest checkout, with the table's filters (none, a status, a source,
a tag, a date range, free text, the Requires attention tab), ordered as the table orders them
(newest first). Each case runs in a fresh child process: time to the header and to the first
data row, lines per second over the whole response, peak RSS; the median of `--csv-runs`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import (  # noqa: E402
    biggest_checkout,
    one,
    owner_of,
    percentile,
    signed_in,
    timed,
)
from orderdesk.orders.models import Order, OrderStatus  # noqa: E402
from orderdesk.reports import facts, rollups  # noqa: E402
from orderdesk.reports.facts import rolled_until  # noqa: E402
from orderdesk.reports.forms import ReportForm  # noqa: E402
from orderdesk.reports.models import ZoneDay, ZoneRollup  # noqa: E402
from orderdesk.reports.periods import midnight  # noqa: E402
from orderdesk.warmup import warm_up  # noqa: E402

TABS = ("sales", "products", "international", "analytics", "vat")
PERIODS = ("last_30_days", "this_year")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare_zones(checkout: Any, zones: list[str], zone_days: str) -> None:
    """Build the days of every zone but the organization's, as the worker's rollup does for
    a zone a member reports in; or (`hourly`) have reports read the hourly rollup instead."""
    if zone_days == "hourly":
        facts._zone_facts = lambda *args: None
        print("# other zones read the hourly rollup (--zone-days hourly)")
        return
    for zone in zones:
        if zone in ("org", checkout.organization.time_zone):
            continue
        ZoneRollup.objects.update_or_create(
            checkout=checkout, time_zone=zone, defaults={"asked_at": timezone.now()}
        )
        started = time.monotonic()
        rollups.roll_up(checkout)
        rows = ZoneDay.objects.filter(checkout=checkout, time_zone=zone).count()
        print(
            f"# {zone}: its days rolled up ({rows:,} rows) in {time.monotonic() - started:.1f} s",
            flush=True,
        )


def bench_tabs(
    runs: int,
    only: str,
    converted: bool,
    zones: list[str],
    granularities: list[str],
    zone_days: str = "build",
) -> None:
    warm_up()  # as orderdesk/wsgi.py prepares a web process
    checkout = biggest_checkout()
    prepare_zones(checkout, zones, zone_days)
    checkout_id = checkout.pk
    in_checkout = one("SELECT count(*) FROM orders_order WHERE checkout_id=%s", checkout_id)
    owner = owner_of(checkout)
    print(
        f"# {one('SELECT count(*) FROM orders_order'):,} orders; checkout {checkout.name!r} has "
        f"{in_checkout:,}; PostgreSQL {one('SHOW server_version')}; {runs} runs per case"
    )
    print(f"# {uptime()}")
    org_tz = checkout.organization.time_zone
    rows = []
    cases = [(z, p, g) for z in zones for p in PERIODS for g in granularities]
    with signed_in(owner, checkout) as client:
        for zone, period, granularity in cases:
            tz = org_tz if zone == "org" else zone
            params = ReportForm(
                {"period": period, "tz": tz}, default_tz=tz, now=timezone.now()
            ).params
            start, end = params.period.start, params.period.end
            paid = one(
                "SELECT count(*) FROM orders_order WHERE checkout_id=%s AND paid_at>=%s AND paid_at<%s",
                checkout_id,
                start,
                end,
            )

            # What the page's headline reads now: the rollup's settled days, the live rest.
            until = rolled_until(frozenset({checkout_id}), params.period.tz)
            split_day = min(
                max(until or params.period.first_day, params.period.first_day),
                params.period.last_day + dt.timedelta(days=1),
            )
            split = midnight(split_day, params.period.tz)

            def rollup_sql(
                first_day: Any = params.period.first_day,
                split_day: Any = split_day,
                split: Any = split,
                end: Any = end,
            ) -> None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT currency, sum(amount_minor), sum(orders) FROM reports_salesday "
                        "WHERE checkout_id=%s AND grain='channel' AND day>=%s AND day<%s "
                        "GROUP BY currency",
                        [checkout_id, first_day, split_day],
                    )
                    cursor.fetchall()
                    cursor.execute(
                        "SELECT currency, sum(total_minor), count(*) FROM orders_order "
                        "WHERE checkout_id=%s AND paid_at>=%s AND paid_at<%s AND status = ANY(%s) "
                        "GROUP BY currency",
                        [checkout_id, split, end, sorted(OrderStatus.WAS_PAID)],
                    )
                    cursor.fetchall()

            def bare_sql(start: Any = start, end: Any = end) -> None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT currency, sum(total_minor), count(*) FROM orders_order "
                        "WHERE checkout_id=%s AND paid_at>=%s AND paid_at<%s AND status = ANY(%s) "
                        "GROUP BY currency",
                        [checkout_id, start, end, sorted(OrderStatus.WAS_PAID)],
                    )
                    cursor.fetchall()

            for currency in ("", "EUR") if converted else ("",):
                for tab in TABS:
                    name = (
                        f"{tab}, {period}"
                        + (f", by {granularity}" if granularity else "")
                        + (", converted to EUR" if currency else "")
                        + ("" if tz == org_tz else f", {tz}")
                    )
                    if only and only not in name:
                        continue
                    query = {"period": period, "tab": tab, "tz": tz, "currency": currency}
                    if granularity:
                        query["granularity"] = granularity

                    def request(query: dict[str, str] = query) -> None:
                        response = client.get("/reports/", query)
                        assert response.status_code == 200, response.status_code

                    view_ms = timed(request, runs)
                    # Neither aggregate depends on the zone: measured in the organization's.
                    in_org = tz == org_tz
                    sql_ms = timed(bare_sql, runs) if in_org else [float("nan")]
                    rollup_ms = timed(rollup_sql, runs) if in_org else [float("nan")]
                    p50, p95, sql95, rollup95 = (
                        statistics.median(view_ms),
                        percentile(view_ms, 95),
                        percentile(sql_ms, 95),
                        percentile(rollup_ms, 95),
                    )
                    rows.append((name, paid, p50, p95, sql95, rollup95))
                    print(
                        f"{name:70} {paid:>8,} paid  p50 {p50:7.1f}  p95 {p95:7.1f}  "
                        f"bare SQL p95 {sql95:6.1f}  x{p95 / sql95:5.1f}  "
                        f"rollup SQL p95 {rollup95:6.1f}  x{p95 / rollup95:5.1f}",
                        flush=True,
                    )
    print()
    org_until = rolled_until(frozenset({checkout_id}), ZoneInfo(org_tz))
    print(f"# daily rollup complete before {org_until} ({org_tz}); {uptime()}")
    print(
        "| tab, period | paid orders in period | p50 ms | p95 ms "
        "| bare aggregate SQL on orders p95 ms | ratio | same aggregate on rollup + live days p95 ms | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, paid, p50, p95, sql95, rollup95 in rows:
        print(
            f"| {name} | {paid:,} | {p50:.0f} | {p95:.0f} | {sql95:.0f} | {p95 / sql95:.1f} "
            f"| {rollup95:.1f} | {p95 / rollup95:.1f} |"
        )


def export_ours(limit: int | None) -> dict[str, Any]:
    from orderdesk.reports.exports import stream_orders_csv

    orders = Order.objects.order_by("pk")
    if limit:
        orders = orders.filter(
            pk__lte=one("SELECT id FROM orders_order ORDER BY id LIMIT 1 OFFSET %s", limit - 1)
        )
    baseline = rss_mb()
    start = time.perf_counter()
    first_row = None
    rows = -1  # the header
    size = 0
    for piece in stream_orders_csv(orders, tz=ZoneInfo("Europe/Helsinki")):
        lines = piece.count("\n")
        rows += lines
        size += len(piece.encode())
        if first_row is None and rows > 0:
            first_row = time.perf_counter() - start
    total = time.perf_counter() - start
    return {
        "rows": rows,
        "mb": size / 1e6,
        "ttfb_s": first_row,
        "total_s": total,
        "rows_per_s": rows / total,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": rss_mb(),
    }


def export_import_export(limit: int | None) -> dict[str, Any]:
    from django.db.models import OuterRef, Subquery
    from import_export import fields, resources

    from orderdesk.orders.models import OrderLine
    from orderdesk.payments.models import PaymentAttempt

    def attempt(column: str) -> Subquery:
        return Subquery(
            PaymentAttempt.objects.filter(order_id=OuterRef("order_id"))
            .order_by("-created_at", "-pk")
            .values(column)[:1]
        )

    class OrderLineResource(resources.ModelResource):  # type: ignore[misc]
        number = fields.Field(attribute="order__number", column_name="Order number")
        created = fields.Field(attribute="order__created_at", column_name="Created")
        paid = fields.Field(attribute="order__paid_at", column_name="Paid")
        status = fields.Field(attribute="order__status", column_name="Status")
        email = fields.Field(attribute="order__customer_email", column_name="Customer email")
        first_name = fields.Field(attribute="order__first_name", column_name="First name")
        last_name = fields.Field(attribute="order__last_name", column_name="Last name")
        country = fields.Field(attribute="order__country", column_name="Country")
        region = fields.Field(attribute="order__region", column_name="Region")
        currency = fields.Field(attribute="order__currency", column_name="Currency")
        total = fields.Field(attribute="order__total_minor", column_name="Order total")
        code = fields.Field(attribute="order__discount_code__code", column_name="Discount code")
        discount = fields.Field(attribute="order__discount_minor", column_name="Discount amount")
        source = fields.Field(attribute="order__source", column_name="Source")
        tags = fields.Field(attribute="order__tags", column_name="Tags")
        checkout = fields.Field(attribute="order__checkout__name", column_name="Checkout")
        link = fields.Field(attribute="order__link__name", column_name="Checkout link")
        offer = fields.Field(attribute="order__offer__name", column_name="Offer")
        provider = fields.Field(attribute="pay_provider", column_name="Payment provider")
        method = fields.Field(attribute="pay_method", column_name="Payment method")
        pay_status = fields.Field(attribute="pay_status", column_name="Payment status")
        refunded = fields.Field(attribute="order__refunded_minor", column_name="Order refunded")

        class Meta:
            model = OrderLine
            # django-import-export 4 leaves declared fields out unless they are listed here.
            fields = (
                "number", "created", "paid", "status", "email", "first_name", "last_name",
                "country", "region", "currency", "total", "code", "discount", "source", "tags",
                "checkout", "link", "offer", "provider", "method", "pay_status", "refunded",
                "kind", "name", "quantity", "unit_price_minor", "vat_rate", "vat_minor",
                "total_minor", "refunded_minor",
            )  # fmt: skip

    lines = (
        OrderLine.objects.select_related(
            "order__discount_code", "order__checkout", "order__link", "order__offer"
        )
        .annotate(
            pay_provider=attempt("provider"),
            pay_method=attempt("method"),
            pay_status=attempt("status"),
        )
        .order_by("order_id", "position", "pk")
    )
    if limit:
        last = one("SELECT id FROM orders_order ORDER BY id LIMIT 1 OFFSET %s", limit - 1)
        lines = lines.filter(order_id__lte=last)
    baseline = rss_mb()
    start = time.perf_counter()
    dataset = OrderLineResource().export(queryset=lines)
    text = dataset.csv
    total = time.perf_counter() - start
    rows = len(dataset)
    return {
        "rows": rows,
        "mb": len(text.encode()) / 1e6,
        # Nothing can be sent before the whole dataset is built.
        "ttfb_s": total,
        "total_s": total,
        "rows_per_s": rows / total,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": rss_mb(),
    }


def child(kind: str, limit: int | None) -> None:
    result = export_ours(limit) if kind == "ours" else export_import_export(limit)
    print(json.dumps(result))


def bench_csv(limit: int | None, ie_limit: int | None) -> None:
    orders = one("SELECT count(*) FROM orders_order")
    lines = one("SELECT count(*) FROM orders_orderline")
    print(f"# CSV: {orders:,} orders with {lines:,} lines")
    runs: list[tuple[str, str, int | None]] = [("Orderdesk stream_orders_csv", "ours", limit)]
    if ie_limit and ie_limit != limit:
        runs.append(("Orderdesk stream_orders_csv", "ours", ie_limit))
    runs.append(("django-import-export ModelResource.export", "ie", ie_limit))
    results = []
    for label, kind, n in runs:
        command = [sys.executable, __file__, "--csv-child", kind]
        if n:
            command += ["--limit", str(n)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        scope = f"first {n:,} orders" if n else "all orders"
        results.append((label, scope, result))
        print(label, scope, result, flush=True)
    print()
    print(
        "| exporter | orders | rows | MB | first data row s | total s | rows/s | RSS before MB | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, scope, r in results:
        print(
            f"| {label} | {scope} | {r['rows']:,} | {r['mb']:.0f} | {r['ttfb_s']:.3f} | "
            f"{r['total_s']:.1f} | {r['rows_per_s']:,.0f} | {r['baseline_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )


TABLE_CSV_TARGET_LINES_PER_S = 50_000
TABLE_CSV_TARGET_FIRST_ROW_S = 0.3


def table_csv_cases(checkout: Any) -> list[tuple[str, dict[str, str]]]:
    """The orders table's filters, with values taken from the data."""
    c = checkout.pk
    common_source = one(
        "SELECT source FROM orders_order WHERE checkout_id=%s AND source<>'' "
        "GROUP BY source ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    rare_source = one(
        "SELECT source FROM orders_order WHERE checkout_id=%s AND source<>'' "
        "GROUP BY source ORDER BY count(*) ASC, source LIMIT 1",
        c,
    )
    common_tag = one(
        "SELECT tag FROM orders_ordertag WHERE checkout_id=%s GROUP BY tag "
        "ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    rare_tag = one(
        "SELECT tag FROM orders_ordertag WHERE checkout_id=%s GROUP BY tag "
        "ORDER BY count(*) ASC, tag LIMIT 1",
        c,
    )
    surname = one(
        "SELECT last_name FROM orders_order WHERE checkout_id=%s AND last_name<>'' "
        "GROUP BY last_name ORDER BY count(*) DESC, last_name LIMIT 1",
        c,
    )
    newest = one("SELECT max(created_at) FROM orders_order WHERE checkout_id=%s", c)
    tz = ZoneInfo(str(checkout.organization.time_zone))
    last_day = newest.astimezone(tz).date()
    return [
        ("no filter", {}),
        ("status refunded", {"status": OrderStatus.REFUNDED}),
        ("status completed (common)", {"status": OrderStatus.COMPLETED}),
        (f"source {common_source} (common)", {"source": common_source or ""}),
        (f"source {rare_source} (rarest)", {"source": rare_source or ""}),
        (f"tag {common_tag} (common)", {"tag": common_tag or ""}),
        (f"tag {rare_tag} (rarest)", {"tag": rare_tag or ""}),
        (
            "created, last 30 days",
            {
                "date_from": (last_day - dt.timedelta(days=29)).isoformat(),
                "date_to": last_day.isoformat(),
            },
        ),
        (
            "created, one month a year ago",
            {
                "date_from": (last_day - dt.timedelta(days=395)).isoformat(),
                "date_to": (last_day - dt.timedelta(days=366)).isoformat(),
            },
        ),
        (f"free text: surname {surname}", {"q": surname or ""}),
        ("Requires attention tab", {"tab": "attention"}),
    ]


def table_csv_child(query: dict[str, str], runs: int) -> None:
    warm_up()  # as orderdesk/wsgi.py prepares a web process
    checkout = biggest_checkout()
    results: list[dict[str, Any]] = []
    with signed_in(owner_of(checkout), checkout) as client:
        # The first request of a process imports and compiles what every later one reuses.
        client.get("/orders/export.csv", {"number": "0"}).getvalue()
        baseline = rss_mb()
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get("/orders/export.csv", query)
            assert response.status_code == 200, response.status_code
            header_s: float | None = None
            first_row_s: float | None = None
            lines = 0
            size = 0
            for piece in response.streaming_content:  # type: ignore[attr-defined]
                lines += piece.count(b"\n")
                size += len(piece)
                if header_s is None:
                    header_s = time.perf_counter() - start
                if first_row_s is None and lines > 1:
                    first_row_s = time.perf_counter() - start
            total = time.perf_counter() - start
            results.append(
                {
                    "lines": lines - 1,  # the header
                    "mb": size / 1e6,
                    "header_s": header_s,
                    "first_row_s": first_row_s,
                    "total_s": total,
                    "lines_per_s": (lines - 1) / total,
                }
            )
    median = sorted(results, key=lambda r: r["lines_per_s"])[len(results) // 2]
    print(
        json.dumps(
            {
                **median,
                "first_row_s": statistics.median(r["first_row_s"] or r["total_s"] for r in results),
                "runs": [round(r["lines_per_s"]) for r in results],
                "baseline_rss_mb": baseline,
                "peak_rss_mb": rss_mb(),
            }
        )
    )


def bench_table_csv(runs: int, only: str) -> None:
    checkout = biggest_checkout()
    in_checkout = one("SELECT count(*) FROM orders_order WHERE checkout_id=%s", checkout.pk)
    print(
        f"# orders table CSV: checkout {checkout.name!r} has {in_checkout:,} orders; "
        f"{runs} runs per case, fresh process per case; load {os.getloadavg()}"
    )
    results = []
    for name, query in table_csv_cases(checkout):
        if only and only not in name:
            continue
        command = [sys.executable, __file__, "--table-csv-child", json.dumps(query)]
        command += ["--csv-runs", str(runs)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append((name, query, result))
        print(name, query, result, f"load {os.getloadavg()[0]:.2f}", flush=True)
    print()
    print(
        "| filter (newest first) | lines | MB | header s | first data row s | total s "
        "| lines/s | peak RSS MB | target met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, _, r in results:
        met = (
            r["lines_per_s"] >= TABLE_CSV_TARGET_LINES_PER_S
            and r["first_row_s"] <= TABLE_CSV_TARGET_FIRST_ROW_S
        )
        print(
            f"| {name} | {r['lines']:,} | {r['mb']:.1f} | {r['header_s']:.3f} "
            f"| {r['first_row_s']:.3f} | {r['total_s']:.2f} | {r['lines_per_s']:,.0f} "
            f"| {r['peak_rss_mb']:.0f} | {'yes' if met else 'no'} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="", help="run only tab cases whose name contains this")
    parser.add_argument("--csv-only", action="store_true")
    parser.add_argument("--converted", action="store_true", help="also convert to EUR")
    parser.add_argument("--tabs-only", action="store_true")
    parser.add_argument("--tz", action="append", help="time zone of the cases; org = default")
    parser.add_argument(
        "--zone-days",
        choices=("build", "hourly"),
        default="build",
        help="other zones: build their days first (default), or read the hourly rollup",
    )
    parser.add_argument(
        "--granularity", action="append", choices=("day", "week", "month"), help="chart buckets"
    )
    parser.add_argument("--limit", type=int, default=0, help="CSV: only the first N orders")
    parser.add_argument(
        "--ie-limit",
        type=int,
        default=100_000,
        help="django-import-export builds everything in memory: orders to give it (0 = all)",
    )
    parser.add_argument(
        "--table-csv-only", action="store_true", help="only the orders table's filtered CSV"
    )
    parser.add_argument("--csv-runs", type=int, default=3, help="runs per orders table CSV case")
    parser.add_argument("--csv-child", choices=("ours", "ie"), help=argparse.SUPPRESS)
    parser.add_argument("--table-csv-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    if args.csv_child:
        child(args.csv_child, args.limit or None)
        return
    if args.table_csv_child:
        table_csv_child(json.loads(args.table_csv_child), args.csv_runs)
        return
    if args.table_csv_only:
        bench_table_csv(args.csv_runs, args.only)
        return
    if not args.csv_only:
        bench_tabs(
            args.runs,
            args.only,
            args.converted,
            args.tz or ["org"],
            args.granularity or [""],
            args.zone_days,
        )
    if not args.tabs_only:
        bench_csv(args.limit or None, args.ie_limit or None)


if __name__ == "__main__":
    main()
