"""A filtered export holds exactly the orders the table shows, in the table's order.

The expected orders are worked out here in Python from what each order was given, not by
the queries under test. Chunks are made tiny so that every export crosses several chunk
boundaries; the exports run in their own transaction (`transaction=True`), as in production,
so on PostgreSQL the first chunk and the rest are read by different statements.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from dataclasses import dataclass
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from orderdesk.orders.models import Order, OrderLine, OrderStatus, OrderTag
from orderdesk.reports import exports
from orderdesk.reports.exports import stream_orders_csv
from orderdesk.testing import factories

HELSINKI = ZoneInfo("Europe/Helsinki")
pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Given:
    pk: int
    number: int
    created_at: dt.datetime
    status: str
    source: str
    tags: tuple[str, ...]
    last_name: str
    disputed: bool
    lines: int


def _orders(w: factories.World) -> list[Given]:
    """23 orders two by two at the same moment (the id breaks the tie), with statuses,
    sources, tags, names and disputes spread so that every filter keeps a scattered few."""
    now = timezone.now().replace(microsecond=0)
    given = []
    for i in range(23):
        status = OrderStatus.REFUNDED if i % 3 == 0 else OrderStatus.PAID
        o = factories.order(
            w,
            status=status,
            created_at=now - dt.timedelta(days=i // 2 * 3),
            last_name="Korhonen" if i % 2 == 0 else "Virtanen",
            dispute_open=i % 7 == 0,
        )
        source = "Newsletter" if i % 4 == 0 else o.source
        tags = ("vip",) if i % 5 == 0 else tuple(o.tags)
        if tags != tuple(o.tags):
            OrderTag.objects.filter(order=o).delete()
            OrderTag.objects.create(
                order=o, checkout=w.checkout, tag="vip", created_at=o.created_at
            )
        Order.objects.filter(pk=o.pk).update(source=source, tags=list(tags))
        given.append(
            Given(
                pk=o.pk,
                number=o.number,
                created_at=o.created_at,
                status=status,
                source=source,
                tags=tags,
                last_name=o.last_name,
                disputed=i % 7 == 0,
                lines=OrderLine.objects.filter(order=o).count(),
            )
        )
    return given


def _newest_first(orders: list[Given]) -> list[Given]:
    return sorted(orders, key=lambda o: (o.created_at, o.pk), reverse=True)


def _numbers_and_rows(text: str) -> tuple[list[int], dict[int, int]]:
    """The order numbers in the file's order (an order's lines run together), and the rows
    of each order."""
    rows = [int(row["Order number"]) for row in csv.DictReader(io.StringIO(text))]
    runs = [(number, len(list(lines))) for number, lines in groupby(rows)]
    return [number for number, _ in runs], dict(runs)


def _assert_exported(text: str, expected: list[Given]) -> None:
    numbers, rows = _numbers_and_rows(text)
    # Each order once, its lines together, in the order given.
    assert numbers == [o.number for o in expected]
    assert rows == {o.number: max(o.lines, 1) for o in expected}


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    monkeypatch.setattr(exports, "FIRST_CHUNK", 2)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first chunk of two orders, and every later chunk's second half written by the helper
    connection (the PostgreSQL tests below)."""
    monkeypatch.setattr(exports, "FIRST_CHUNK", 2)
    monkeypatch.setattr(exports, "SPLIT_MIN", 2)


@pytest.mark.usefixtures("tiny_chunks")
@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({}, lambda o: True),
        ({"status": "refunded"}, lambda o: o.status == OrderStatus.REFUNDED),
        ({"source": "newsletter"}, lambda o: o.source == "Newsletter"),
        ({"tag": "VIP"}, lambda o: "vip" in o.tags),
        ({"q": "korhonen"}, lambda o: o.last_name == "Korhonen"),
        ({"tab": "attention"}, lambda o: o.disputed),
        (
            {"status": "paid", "q": "Virtanen"},
            lambda o: o.status == OrderStatus.PAID and o.last_name == "Virtanen",
        ),
    ],
    ids=["none", "status", "source", "tag", "free text", "attention", "status and text"],
)
def test_the_orders_page_export_holds_the_filtered_orders_newest_first(
    client: Client, world: factories.World, query: dict[str, str], keep: object
) -> None:
    given = _orders(world)
    expected = _newest_first([o for o in given if keep(o)])  # type: ignore[operator]
    assert 2 < len(expected) < len(given) or not query
    client.force_login(world.alice)
    response = client.get("/orders/export.csv", query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    _assert_exported(text, expected)


@pytest.mark.usefixtures("tiny_chunks")
def test_a_date_range_exports_its_days_newest_first(client: Client, world: factories.World) -> None:
    given = _orders(world)
    # The member's days: the page reads dates in their time zone.
    tz = ZoneInfo(world.alice.time_zone or world.org.time_zone)
    newest = max(o.created_at for o in given).astimezone(tz).date()
    first_day, last_day = newest - dt.timedelta(days=20), newest - dt.timedelta(days=6)
    expected = _newest_first(
        [o for o in given if first_day <= o.created_at.astimezone(tz).date() <= last_day]
    )
    assert 2 < len(expected) < len(given)
    client.force_login(world.alice)
    response = client.get(
        "/orders/export.csv",
        {"date_from": first_day.isoformat(), "date_to": last_day.isoformat()},
    )
    assert response.status_code == 200
    _assert_exported(b"".join(response.streaming_content).decode(), expected)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("tiny_chunks")
def test_a_tag_export_holds_each_order_once_when_two_of_its_tags_fold_alike(
    client: Client, world: factories.World
) -> None:
    given = _orders(world)
    tagged = [o for o in given if "vip" in o.tags]
    # On PostgreSQL a tag's ids come from its rows (`queries.tag_index_ids`): two per order here.
    for o in tagged[::2]:
        OrderTag.objects.create(
            order_id=o.pk, checkout=world.checkout, tag="VIP", created_at=o.created_at
        )
    client.force_login(world.alice)
    response = client.get("/orders/export.csv", {"tag": "Vip"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    _assert_exported(text, _newest_first(tagged))


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 100])
def test_every_chunking_gives_the_same_rows_in_the_same_order(
    world: factories.World, monkeypatch: pytest.MonkeyPatch, chunk_size: int
) -> None:
    given = _orders(world)
    monkeypatch.setattr(exports, "FIRST_CHUNK", 2)
    refunded = Order.objects.filter(status=OrderStatus.REFUNDED).order_by("-created_at", "-pk")
    text = "".join(stream_orders_csv(refunded, tz=HELSINKI, chunk_size=chunk_size))
    _assert_exported(text, _newest_first([o for o in given if o.status == "refunded"]))


def test_an_order_with_ties_and_no_id_in_its_ordering_still_exports_each_order_once(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _orders(world)
    monkeypatch.setattr(exports, "FIRST_CHUNK", 3)
    # created_at alone leaves every pair tied; the export breaks ties by id.
    text = "".join(
        stream_orders_csv(Order.objects.order_by("created_at"), tz=HELSINKI, chunk_size=2)
    )
    expected = sorted(given, key=lambda o: (o.created_at, o.pk))
    _assert_exported(text, expected)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the helper connection is PostgreSQL's"
)


@postgresql_only
@pytest.mark.parametrize(
    "query",
    [{"status": "refunded"}, {"tag": "VIP"}, {"q": "korhonen"}, {"tab": "attention"}],
    ids=["status", "tag", "free text", "attention"],
)
def test_a_filtered_export_split_between_two_connections_has_the_same_bytes(
    client: Client, world: factories.World, monkeypatch: pytest.MonkeyPatch, query: dict[str, str]
) -> None:
    _orders(world)
    client.force_login(world.alice)

    def export() -> bytes:
        response = client.get("/orders/export.csv", query)
        assert response.status_code == 200
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]

    whole = export()  # one chunk, on one connection
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    monkeypatch.setattr(exports, "FIRST_CHUNK", 2)
    monkeypatch.setattr(exports, "SPLIT_MIN", 2)  # every chunk's second half by the helper
    by_helper: list[str] = []
    run = exports._Helper._run

    def counted(helper: exports._Helper, statement: str, params: dict[str, object]) -> str:
        by_helper.append(text := run(helper, statement, params))
        return text

    monkeypatch.setattr(exports._Helper, "_run", counted)
    assert export() == whole
    assert len(by_helper) >= 2
    assert all(by_helper)
    assert whole.count(b"\r\n") > 3


@postgresql_only
@pytest.mark.usefixtures("small_chunks")
def test_orders_changed_during_an_export_stay_as_they_were_on_both_connections(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _orders(world)
    connect = psycopg.connect
    renamed: list[int] = []

    def rename_then_connect(**params: Any) -> psycopg.Connection[Any]:
        # Another session renames every order and commits after the export's transaction
        # took its snapshot and before the helper connection starts its own transaction.
        with connect(**params) as other:
            table = Order._meta.db_table
            renamed.append(other.execute(f"UPDATE {table} SET last_name = 'Renamed'").rowcount)
        return connect(**params)

    monkeypatch.setattr(psycopg, "connect", rename_then_connect)
    text = "".join(
        stream_orders_csv(Order.objects.order_by("-created_at", "-pk"), tz=HELSINKI, chunk_size=6)
    )
    assert renamed == [len(given)]
    assert "Renamed" not in text
    _assert_exported(text, _newest_first(given))


@postgresql_only
@pytest.mark.usefixtures("small_chunks")
def test_an_export_whose_helper_cannot_connect_writes_every_chunk_itself(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _orders(world)

    def refused(**params: object) -> psycopg.Connection[object]:
        raise psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(psycopg, "connect", refused)
    text = "".join(
        stream_orders_csv(Order.objects.order_by("-created_at", "-pk"), tz=HELSINKI, chunk_size=6)
    )
    _assert_exported(text, _newest_first(given))


@postgresql_only
@pytest.mark.usefixtures("small_chunks")
def test_an_export_closed_midway_closes_its_helper_connection(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _orders(world)
    connect = psycopg.connect
    helpers: list[psycopg.Connection[Any]] = []

    def kept(**params: Any) -> psycopg.Connection[Any]:
        helpers.append(helper := connect(**params))
        return helper

    monkeypatch.setattr(psycopg, "connect", kept)

    def running(pid: int) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            (count,) = cursor.fetchone()
        return bool(count)

    pieces = stream_orders_csv(
        Order.objects.order_by("-created_at", "-pk"), tz=HELSINKI, chunk_size=6
    )
    try:
        next(pieces), next(pieces), next(pieces)  # the header and both halves of the first chunk
        [helper] = helpers
        pid = helper.info.backend_pid
        assert running(pid)
        pieces.close()  # as Django closes the response of a client gone mid-download
        assert helper.closed
        # Its backend is the helper's by pid, not by a count of the database's backends: closing
        # a connection returns before its backend has exited, so another test's helper may still
        # be listed for a moment (a count taken at once failed now and then under load).
        deadline = time.monotonic() + 10
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not running(pid)
    finally:
        # A helper left open would hold its snapshot's locks and block the test's teardown.
        for helper in helpers:
            helper.close()
