"""Benchmark of the live updates' poll (issue 15, point 4) on a big PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/live_poll.py

Part 1, one poll: for each case the orders page's poll (`/orders/live/`, what orders.js
sends every LIVE_POLL_SECONDS: its cursor, the filters, the 50 rows' versions, the first
page's newest row, the open panel's version) goes through Django's full request handler as
the owner of the biggest checkout; it reports p50/p95 wall time, the SQL time inside it
(every query's execute, timed by a connection wrapper), the statements and this process's CPU
per poll. The cases: nothing changed since the cursor (the common poll: 204), the same with
the panel open, every LIVE_COUNTER_EVERYth poll (the counters recounted), a change found
(one shown row changed, and one elsewhere in the checkout), and the first poll after the table
is drawn (no cursor: every row compared); plus the other pages' counter poll.

Part 2, 50 staff watching: `--watchers` pollers (default 50), each at the poll interval
(`--interval`, default LIVE_POLL_SECONDS) with its own offset, each asking for the counters
every LIVE_COUNTER_EVERYth poll, for `--duration` seconds in real time. `--changed` (a
fraction, default 0) of the polls find a change (one shown row changed). It reports the polls
made, their p95, and per second of wall time the SQL time and the CPU time of this process
(the web server's Python: the test client's own share is small and counted too, so it is an
upper bound).

It writes at most once: when the checkout's newest order carries no change marker yet (a
copy just migrated), it marks it with an UPDATE that changes no value, so the "change found"
cases have one to find. Sessions live in signed cookies; polls only read.
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


def marker_of(newest: Order) -> int:
    """The change marker of the newest order; without one (a copy just migrated), it marks it
    by an UPDATE that changes no value."""
    marker = one("SELECT change_xid FROM orders_order WHERE id = %s", newest.pk)
    if marker is None:
        with connection.cursor() as db:
            db.execute("UPDATE orders_order SET updated_at = updated_at WHERE id = %s", [newest.pk])
        print(f"# marked order #{newest.number} (an UPDATE that changes no value)")
        marker = one("SELECT change_xid FROM orders_order WHERE id = %s", newest.pk)
    return int(marker)


def discover(client: Client, checkout_id: int) -> tuple[list[Case], list[Case]]:
    """The one-poll cases, and the watchers' (unchanged) ones."""
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
    marker = marker_of(newest[0])
    # A cursor from a first poll: nothing changed since (nothing writes meanwhile).
    table = poll_params(newest)
    response = client.get("/orders/live/", table)
    assert response.status_code == 200, response.status_code
    now = response["Live-Cursor"]
    some = newest[len(newest) // 2]
    events = list(OrderEvent.objects.filter(order_id=some.pk).only("id"))
    panel = f"{some.number}:{panel_version(some.updated_at, events)}"
    # "Changed" cursors are at the newest order's marker, and it is the stale row.
    stale_first = poll_params(newest, stale=1)
    unchanged = [
        Case("nothing changed (204)", {**table, "cursor": now}),
        Case(
            "nothing changed, Requires attention tab (204)",
            {"tab": "attention", **poll_params(attention), "cursor": now},
        ),
        Case(
            f"nothing changed, status {common_status} (204)",
            {"status": common_status, **poll_params(by_status), "cursor": now},
        ),
        Case("nothing changed, panel open", {**table, "panel": panel, "cursor": now}),
    ]
    cases = [
        *unchanged,
        Case("counters' poll (every 6th)", {**table, "cursor": now, "counter": "1"}),
        Case("a change: one shown row changed", {**stale_first, "cursor": f"{marker}:{marker}:"}),
        Case("a change elsewhere in the checkout", {**table, "cursor": f"{marker}:{marker}:"}),
        Case("first poll after a redraw (no cursor)", table),
        Case(
            "first poll, free text (a common word)",
            {
                "q": "example",
                **poll_params(first_page(checkout_id, search_text__contains="example")),
            },
        ),
    ]
    changed = Case("changed", {**stale_first, "cursor": f"{marker}:{marker}:"})
    return cases, [*unchanged, changed]


def poll(client: Client, case: Case, extra: dict[str, str] | None = None) -> None:
    response = client.get("/orders/live/", {**case.params, **(extra or {})})
    assert response.status_code in (200, 204), (case.name, response.status_code)


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
    cursor = client.get("/live/attention/")["Live-Cursor"]
    for name, params in (
        ("other pages' counter poll (204)", {"cursor": cursor}),
        ("other pages' counter poll, every 6th", {"cursor": cursor, "counter": "1"}),
    ):
        wall, cpu = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get("/live/attention/", params)
            assert response.status_code in (200, 204)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        print(
            f"| {name} | {statistics.median(wall):.1f} | {percentile(wall, 95):.1f} | | | "
            f"{statistics.mean(cpu):.1f} |"
        )


def watch(
    client: Client,
    cases: list[Case],
    watchers: int,
    interval: float,
    duration: float,
    changed: float,
) -> None:
    """`watchers` pollers at `interval` seconds, staggered, for `duration` seconds; the last
    case is the changed one, taken by about `changed` of the polls."""
    schedule = sorted(
        (interval * i / watchers + k * interval, i, k)
        for i in range(watchers)
        for k in range(int(duration / interval))
    )
    every = int(settings.LIVE_COUNTER_EVERY)
    unchanged, change = cases[:-1], cases[-1]
    wall: list[float] = []
    # Each poll's own CPU and SQL time: what its wall time is made of.
    poll_cpu: list[float] = []
    poll_sql: list[float] = []
    late = 0
    with sql_clock() as clock:
        start, start_cpu = time.perf_counter(), time.process_time()
        for n, (at, watcher, k) in enumerate(schedule):
            wait = start + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                late += 1
            begin, begin_cpu, begin_sql = time.perf_counter(), time.process_time(), clock.seconds
            case = change if (n * changed) % 1 + changed >= 1 else unchanged[watcher % 4]
            poll(client, case, {"counter": "1"} if (k + watcher) % every == every - 1 else None)
            wall.append((time.perf_counter() - begin) * 1000)
            poll_cpu.append((time.process_time() - begin_cpu) * 1000)
            poll_sql.append((clock.seconds - begin_sql) * 1000)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - start_cpu
    print()
    print(
        f"# {watchers} watchers every {interval:g} s for {elapsed:.0f} s, {changed:.0%} of the "
        f"polls finding a change: {len(wall)} polls "
        f"({len(wall) / elapsed:.1f}/s), p50 {statistics.median(wall):.1f} ms, "
        f"p95 {percentile(wall, 95):.1f} ms; {late} started late"
    )
    print(
        f"# per second: SQL {clock.seconds * 1000 / elapsed:.0f} ms "
        f"({clock.queries / elapsed:.0f} queries), Python CPU {cpu * 1000 / elapsed:.0f} ms "
        f"(= {cpu / elapsed:.1%} of one core)"
    )
    print(
        f"# per poll: Python CPU p50 {statistics.median(poll_cpu):.1f} ms, p95 "
        f"{percentile(poll_cpu, 95):.1f} ms; SQL p50 {statistics.median(poll_sql):.1f} ms, p95 "
        f"{percentile(poll_sql, 95):.1f} ms (the rest of the wall time: waiting for a core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50, help="polls per case, at least 1")
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--interval", type=float, default=float(settings.LIVE_POLL_SECONDS))
    parser.add_argument("--duration", type=float, default=60.0, help="0 skips part 2")
    parser.add_argument(
        "--changed", type=float, default=0.0, help="the share of part 2's polls finding a change"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.interval <= 0 or not 0 <= args.changed <= 1:
        parser.error("--runs must be at least 1, --interval above 0, --changed in 0..1")
    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    warm_up()
    checkout = biggest_checkout()
    total = one("SELECT count(*) FROM orders_order")
    in_checkout = one("SELECT count(*) FROM orders_order WHERE checkout_id=%s", checkout.pk)
    owner = owner_of(checkout)
    print(f"# {total:,} orders; checkout {checkout.name!r} has {in_checkout:,}; user {owner.email}")
    print(f"# PostgreSQL {one('SHOW server_version')}, {args.runs} polls per case")
    with signed_in(owner, checkout) as client:
        cases, watched = discover(client, checkout.pk)
        measure_one_poll(client, cases, args.runs)
        counter_poll(client, args.runs)
        if args.duration > 0:
            watch(client, watched, args.watchers, args.interval, args.duration, args.changed)


if __name__ == "__main__":
    main()
