"""Benchmark of the live updates' poll (issue 15, point 4) on a big PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/live_poll.py

Part 1, one poll: for each case the orders page's poll (`/orders/live/`, what orders.js
sends every LIVE_POLL_SECONDS: the filters, the 50 rows' versions, the first page's newest
row, the open panel's version) goes through Django's full request handler as the owner of
the biggest checkout; it reports p50/p95 wall time, the SQL time inside it (every query's
execute, timed by a connection wrapper) and this process's CPU per poll.

Part 2, 50 staff watching: `--watchers` pollers (default 50), each at the poll interval
(`--interval`, default LIVE_POLL_SECONDS) with its own offset, a mix of the cases above,
for `--duration` seconds in real time. It reports the polls made, their p95, and per second
of wall time the SQL time and the CPU time of this process (the web server's Python: the
test client's own share is small and counted too, so it is an upper bound).

It never writes to the database: sessions live in signed cookies, and a poll only reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import biggest_checkout, one, owner_of, percentile, signed_in  # noqa: E402
from orderdesk.orders.models import Order, OrderEvent  # noqa: E402
from orderdesk.orders.queries import PAGE_SIZE, Cursor  # noqa: E402
from orderdesk.warmup import warm_up  # noqa: E402
from orderdesk.workflows.live import panel_version, row_version  # noqa: E402


@dataclass
class Case:
    name: str
    params: dict[str, str]


class SqlClock:
    """Sums the time of every query this connection executes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.queries = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.queries += 1


@contextmanager
def sql_clock() -> Iterator[SqlClock]:
    clock = SqlClock()
    with connection.execute_wrapper(clock):
        yield clock


def first_page(checkout_id: int, **filters: Any) -> list[Order]:
    return list(
        Order.objects.filter(checkout_id=checkout_id, **filters)
        .order_by("-created_at", "-id")
        .only("number", "created_at", "updated_at")[:PAGE_SIZE]
    )


def poll_params(page: list[Order], *, stale: int = 0) -> dict[str, str]:
    """What orders.js sends for this page; `stale` rows claim an older version (changed)."""
    rows = ",".join(
        f"{order.number}:{int(row_version(order.updated_at)) - (1 if i < stale else 0)}"
        for i, order in enumerate(page)
    )
    top = (Cursor.of(page[0]) if page else Cursor(timezone.now(), 0)).encode()
    return {"rows": rows, "top": top}


def discover(checkout_id: int) -> list[Case]:
    newest = first_page(checkout_id)
    attention = list(
        Order.objects.filter(checkout_id=checkout_id)
        .requiring_attention(timezone.now())
        .order_by("-created_at", "-id")
        .only("number", "created_at", "updated_at")[:PAGE_SIZE]
    )
    common_status = one(
        "SELECT status FROM orders_order WHERE checkout_id=%s GROUP BY status "
        "ORDER BY count(*) DESC LIMIT 1",
        checkout_id,
    )
    by_status = first_page(checkout_id, status=common_status)
    some = newest[len(newest) // 2] if newest else None
    cases = [
        Case("orders table, nothing changed", poll_params(newest)),
        Case("orders table, one row changed", poll_params(newest, stale=1)),
        Case("Requires attention tab", {"tab": "attention", **poll_params(attention)}),
        Case(f"status {common_status}", {"status": common_status, **poll_params(by_status)}),
        Case(
            "free text (a common word)",
            {
                "q": "example",
                **poll_params(first_page(checkout_id, search_text__contains="example")),
            },
        ),
    ]
    if some is not None:
        events = list(OrderEvent.objects.filter(order_id=some.pk).only("id"))
        version = panel_version(some.updated_at, events)
        cases.append(
            Case(
                "orders table + open panel",
                {**poll_params(newest), "panel": f"{some.number}:{version}"},
            )
        )
    return cases


def poll(client: Client, case: Case) -> None:
    response = client.get("/orders/live/", case.params)
    assert response.status_code == 200, (case.name, response.status_code)


def measure_one_poll(client: Client, cases: list[Case], runs: int) -> None:
    print()
    print("| poll | p50 ms | p95 ms | SQL p95 ms | queries | Python CPU ms/poll (mean) |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in cases:
        for _ in range(3):
            poll(client, case)
        wall, sql, cpu = [], [], []
        queries = 0
        for _ in range(runs):
            with sql_clock() as clock:
                start, start_cpu = time.perf_counter(), time.process_time()
                poll(client, case)
                wall.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            sql.append(clock.seconds * 1000)
            queries = clock.queries
        print(
            f"| {case.name} | {statistics.median(wall):.1f} | {percentile(wall, 95):.1f} | "
            f"{percentile(sql, 95):.1f} | {queries} | {statistics.mean(cpu):.1f} |"
        )


def counter_poll(client: Client, runs: int) -> None:
    wall = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get("/live/attention/")
        assert response.status_code == 200
        wall.append((time.perf_counter() - start) * 1000)
    print(
        f"| counter only (other pages) | {statistics.median(wall):.1f} | "
        f"{percentile(wall, 95):.1f} | | | |"
    )


def watch(
    client: Client, cases: list[Case], watchers: int, interval: float, duration: float
) -> None:
    """`watchers` pollers at `interval` seconds, staggered, for `duration` seconds."""
    schedule = sorted(
        (interval * i / watchers + k * interval, i)
        for i in range(watchers)
        for k in range(int(duration / interval))
    )
    wall: list[float] = []
    late = 0
    with sql_clock() as clock:
        start, start_cpu = time.perf_counter(), time.process_time()
        for at, watcher in schedule:
            wait = start + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                late += 1
            begin = time.perf_counter()
            poll(client, cases[watcher % len(cases)])
            wall.append((time.perf_counter() - begin) * 1000)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - start_cpu
    print()
    print(
        f"# {watchers} watchers every {interval:g} s for {elapsed:.0f} s: {len(wall)} polls "
        f"({len(wall) / elapsed:.1f}/s), p50 {statistics.median(wall):.1f} ms, "
        f"p95 {percentile(wall, 95):.1f} ms; {late} started late"
    )
    print(
        f"# per second: SQL {clock.seconds * 1000 / elapsed:.0f} ms "
        f"({clock.queries / elapsed:.0f} queries), Python CPU {cpu * 1000 / elapsed:.0f} ms "
        f"(= {cpu / elapsed:.1%} of one core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50, help="polls per case, at least 1")
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--interval", type=float, default=float(settings.LIVE_POLL_SECONDS))
    parser.add_argument("--duration", type=float, default=60.0, help="0 skips part 2")
    args = parser.parse_args()
    if args.runs < 1 or args.interval <= 0:
        parser.error("--runs must be at least 1 and --interval above 0")
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    warm_up()
    checkout = biggest_checkout()
    total = one("SELECT count(*) FROM orders_order")
    in_checkout = one("SELECT count(*) FROM orders_order WHERE checkout_id=%s", checkout.pk)
    owner = owner_of(checkout)
    print(f"# {total:,} orders; checkout {checkout.name!r} has {in_checkout:,}; user {owner.email}")
    print(f"# PostgreSQL {one('SHOW server_version')}, {args.runs} polls per case")
    cases = discover(checkout.pk)
    with signed_in(owner, checkout) as client:
        measure_one_poll(client, cases, args.runs)
        counter_poll(client, args.runs)
        if args.duration > 0:
            watch(client, cases, args.watchers, args.interval, args.duration)


if __name__ == "__main__":
    main()
