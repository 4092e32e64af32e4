"""Benchmark of Requires attention grouped by cause (issue 15) on a big PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench SECRET_KEY=x \
        .venv/bin/python bench/failure_groups.py --runs 30

On the biggest checkout it times `recovery.causes.failure_groups` (the query and the grouping
in Python), the groups fragment through Django's full request handler as its owner, and the
alerts' read of the last window's failures; prints p50/p95, the sizes, and the plans of the
two queries, flagging any sequential scan of orders, snapshots or runs (the query must be
index-backed: only rows in attention). It never writes to the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import biggest_checkout, owner_of, percentile, signed_in, timed  # noqa: E402
from orderdesk.actions.models import ActionSnapshot, SnapshotStatus  # noqa: E402
from orderdesk.orders.models import AttentionReason, Order  # noqa: E402
from orderdesk.recovery import alerts  # noqa: E402
from orderdesk.recovery.causes import UNFINISHED, failure_groups  # noqa: E402
from orderdesk.warmup import warm_up  # noqa: E402

BIG_TABLES = ("orders_order", "actions_actionsnapshot", "actions_actionrun")


def _report(name: str, values: list[float]) -> None:
    print(
        f"{name:<34} p50 {statistics.median(values):7.2f} ms   p95 {percentile(values, 95):7.2f} ms"
        f"   (n={len(values)})"
    )


def _plan(title: str, sql: str, params: tuple[Any, ...]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        lines = [row[0] for row in cursor.fetchall()]
    scans = [line for line in lines if "Seq Scan" in line and any(t in line for t in BIG_TABLES)]
    print(f"\n-- {title}: {'SEQUENTIAL SCAN of a big table' if scans else 'index-backed'}")
    for line in lines:
        print("   " + line)
    return not scans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Run it on PostgreSQL (DATABASE_URL=postgres://…).")
        return 2
    warm_up()
    checkout = biggest_checkout()
    orders = Order.objects.filter(organization_id=checkout.organization_id, checkout=checkout)
    now = timezone.now()
    total = orders.count()
    attention = orders.requiring_attention(now).count()
    for_actions = orders.requiring_attention(now, reason=AttentionReason.ACTIONS)
    snapshots = ActionSnapshot.objects.filter(
        order__in=for_actions.values("pk"), status__in=UNFINISHED
    ).count()
    groups = failure_groups(orders, now)
    print(
        f"checkout {checkout.pk} ({checkout.name}): {total:,} orders, {attention:,} in Requires"
        f" attention, {snapshots:,} unfinished actions of theirs, {len(groups)} groups"
    )
    for group in groups[:8]:
        print(f"   {group.count:>6}  {group.label[:100]}")

    with CaptureQueriesContext(connection) as captured:
        failure_groups(orders, now)
    print(f"failure_groups: {len(captured.captured_queries)} queries")
    _report("failure_groups()", timed(lambda: failure_groups(orders, now), args.runs))

    owner = owner_of(checkout)
    with signed_in(owner, checkout) as client:

        def fragment() -> None:
            response = client.get("/orders/attention/groups/", headers={"HX-Request": "true"})
            assert response.status_code == 200, response.status_code

        _report("GET /orders/attention/groups/", timed(fragment, args.runs))

    since = now - dt.timedelta(minutes=10)
    _report(
        "alerts: last window's failures",
        timed(lambda: alerts._recent_failures(since), args.runs),
    )
    # The last 10 minutes of a generated database may hold no failure: time the same read
    # over the last day as well, to see the index range at work.
    day = now - dt.timedelta(days=1)
    _report("alerts: last day's failures", timed(lambda: alerts._recent_failures(day), args.runs))

    sql, params = (
        ActionSnapshot.objects.filter(order__in=for_actions.values("pk"), status__in=UNFINISHED)
        .values_list("order_id", "config_id", "last_error", "last_run_at")
        .query.sql_with_params()
    )
    ok = _plan("the groups' action query", sql, params)
    sql, params = (
        ActionSnapshot.objects.filter(status=SnapshotStatus.FAILED, last_run_at__gte=since)
        .values_list("order__checkout_id", "config_id", "last_error")
        .query.sql_with_params()
    )
    ok = _plan("the alerts' query", sql, params) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
