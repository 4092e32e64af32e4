"""On SQLite a rollup of many chunks lets other writers in between its chunks.

SQLite has one write lock. The demo's task worker, waiting for it while the worker's first
rollup built a year of hours chunk after chunk, timed out after 20 s ("database is locked")
and died. Here a second connection waits for the lock with a short timeout while a rollup
builds several slow chunks: it must get in between two of them.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from orderdesk.organizations.models import Checkout
from orderdesk.reports import rollups
from orderdesk.testing import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="PostgreSQL queues writers: no single write lock"
    ),
]

NOW = dt.datetime(2026, 11, 8, 12, 0, tzinfo=dt.UTC)
CHUNK_SECONDS = 0.4


def test_a_writer_gets_in_between_the_rollups_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    world = factories.world()
    # Orders over five months: five chunks of hours, each made slow below.
    for month in range(6, 11):
        factories.order(world, created_at=dt.datetime(2026, month, 10, 12, tzinfo=dt.UTC))
    checkout = Checkout.objects.select_related("organization").get(pk=world.checkout.pk)
    building = threading.Event()
    real_build_hours = rollups._build_hours

    def slow_build_hours(*args: Any) -> int:
        building.set()
        time.sleep(CHUNK_SECONDS)  # inside the chunk's transaction, holding the write lock
        return real_build_hours(*args)

    monkeypatch.setattr(rollups, "_build_hours", slow_build_hours)
    outcome: dict[str, Any] = {}

    def write_meanwhile() -> None:
        try:
            building.wait(5)
            with connections["default"].cursor() as cursor:
                # Waits for the lock at most 1.5 s: longer than a chunk, far shorter than
                # the five chunks.
                cursor.execute("PRAGMA busy_timeout = 1500")
                cursor.execute("BEGIN IMMEDIATE")
                outcome["wrote at"] = time.monotonic()
                cursor.execute("COMMIT")
        except Exception as error:  # reported to the test below
            outcome["error"] = error
        finally:
            connections["default"].close()

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    rollups.roll_up(checkout, now=NOW)
    finished = time.monotonic()
    writer.join()

    assert "error" not in outcome, outcome.get("error")
    assert outcome["wrote at"] < finished, "the writer got in only after the whole rollup"
