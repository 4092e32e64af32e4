"""Reads from a real PostgreSQL streaming replica (DATABASE_REPLICA_URL).

`.ci/run` starts a primary and its replica (`scripts/replica start`) and runs this module
against them; elsewhere it is skipped. The replica is told to pause its replay, so what it
serves is visibly older than the primary: a read that shows the newest write came from the
primary, one that lacks it from the replica.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.lib.replica import REPLICA, replica_configured
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.reports.params import ReportParams, Tab
from orderdesk.reports.periods import Period, Preset
from orderdesk.reports.tabs import tab_report
from orderdesk.testing import factories
from orderdesk.web.middleware import PRIMARY_PIN_COOKIE

pytestmark = [
    pytest.mark.skipif(
        not replica_configured(),
        reason="no DATABASE_REPLICA_URL: .ci/run starts a replica with scripts/replica",
    ),
    # Committed writes: the replica only ever sees what the primary committed.
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

UTC = ZoneInfo("UTC")
HTMX = {"HX-Request": "true", "HX-Target": "panel"}


def _one(alias: str, sql: str, params: list[Any] | None = None) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def wait_for_replay(timeout: float = 20.0) -> None:
    """Until the replica has replayed everything the primary wrote so far.

    The insert position, not `pg_current_wal_lsn()` (the write position): `scripts/replica`
    runs the primary with `synchronous_commit = off`, so a commit returns before its record is
    written out, and the write position can still lie before it."""
    target = _one("default", "SELECT pg_current_wal_insert_lsn()")
    deadline = time.monotonic() + timeout
    while not _one(REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]):
        if time.monotonic() > deadline:
            pytest.fail(f"the replica did not replay up to {target} in {timeout} s")
        time.sleep(0.05)


@contextmanager
def replay_paused() -> Iterator[None]:
    """The replica, caught up, stops applying the primary's changes until the block ends."""
    wait_for_replay()
    _one(REPLICA, "SELECT pg_wal_replay_pause()::text")
    deadline = time.monotonic() + 20
    while _one(REPLICA, "SELECT pg_get_wal_replay_pause_state()") != "paused":
        if time.monotonic() > deadline:
            pytest.fail("the replica did not pause its replay")
        time.sleep(0.05)
    try:
        yield
    finally:
        _one(REPLICA, "SELECT pg_wal_replay_resume()::text")


def sales_params() -> ReportParams:
    today = timezone.now().astimezone(UTC).date()
    return ReportParams(
        preset=Preset.LAST_7_DAYS,
        period=Period(today - dt.timedelta(days=6), today, UTC),
        granularity="day",
        currency="",
        tab=Tab.SALES,
        auto_granularity=True,
    )


def test_the_replica_alias_is_a_streaming_standby_of_the_test_database() -> None:
    assert _one(REPLICA, "SELECT pg_is_in_recovery()") is True
    assert _one("default", "SELECT pg_is_in_recovery()") is False
    assert _one(REPLICA, "SELECT current_database()") == _one(
        "default", "SELECT current_database()"
    )


def test_a_report_tab_is_read_from_the_replica_and_a_transaction_from_the_primary(
    world: factories.World,
) -> None:
    checkouts = frozenset({world.checkout.pk})
    factories.order(world)
    wait_for_replay()
    assert tab_report(checkouts, sales_params()).headline.current.orders == 1

    with replay_paused():
        factories.order(world)  # committed on the primary; the paused replica lacks it
        with CaptureQueriesContext(connections["default"]) as on_primary:
            report = tab_report(checkouts, sales_params())
        with transaction.atomic():
            in_transaction = tab_report(checkouts, sales_params())

    assert report.headline.current.orders == 1, "the figures came from the replica"
    assert not [q for q in on_primary.captured_queries if "orders_order" in q["sql"]]
    assert in_transaction.headline.current.orders == 2, "a transaction reads the primary"
    wait_for_replay()
    assert tab_report(checkouts, sales_params()).headline.current.orders == 2


def _count(client: Client, status: str) -> int:
    html = client.get("/orders/count/", {"status": status}).content.decode()
    match = re.search(r"(\d+) orders? match", html)
    assert match, html
    return int(match.group(1))


def _exported(client: Client, status: str) -> list[str]:
    response = client.get("/orders/export.csv", {"status": status})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return sorted({row["Order number"] for row in csv.DictReader(io.StringIO(text))})


def test_after_a_staff_action_their_reads_come_from_the_primary_and_others_from_the_replica(
    world: factories.World, settings: Any
) -> None:
    settings.REPLICA_PIN_SECONDS = 120  # the check below must not outlast the pin on a slow CI
    order = factories.order(world, status=OrderStatus.PAID)
    acting, colleague = Client(), Client()
    acting.force_login(world.alice)
    colleague.force_login(world.sam)

    with replay_paused():
        response = acting.post(f"/orders/{order.number}/mark-completed/", headers=HTMX)
        assert response.status_code == 200
        assert PRIMARY_PIN_COOKIE in response.cookies
        assert Order.objects.get(pk=order.pk).status == OrderStatus.MARKED_COMPLETED

        # The member who acted sees it at once: their reads are pinned to the primary.
        assert _count(acting, "marked_completed") == 1
        assert _exported(acting, "marked_completed") == [str(order.number)]
        # A colleague's table, count and export come from the replica, still paused before it.
        assert _count(colleague, "marked_completed") == 0
        assert _exported(colleague, "marked_completed") == []
        assert _count(colleague, "paid") == 1

    wait_for_replay()
    assert _count(colleague, "marked_completed") == 1
    assert _exported(colleague, "marked_completed") == [str(order.number)]
