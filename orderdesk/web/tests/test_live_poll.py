"""The live table's poll (issue 15, point 4), through the views: a cursor answered by one
index probe, 204 when nothing changed, the changed rows, the bar and the counters otherwise.

Transactional: on PostgreSQL the cursor is the probe snapshot's xmin, which a test's own
open transaction would hold back (every write of the test would look new at every poll)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.orders.events import Actor, record_event
from orderdesk.orders.models import ActionHealth, Order, OrderEvent, OrderStatus
from orderdesk.orders.queries import Cursor
from orderdesk.testing import factories
from orderdesk.workflows.live import ChangeCursor, panel_version, row_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(client: Client, world: factories.World) -> Client:
    client.force_login(world.alice)
    return client


def shown(*orders: Order) -> dict[str, str]:
    """What orders.js sends for a page showing these orders (newest first)."""
    fresh = [Order.objects.get(pk=order.pk) for order in orders]
    return {
        "rows": ",".join(f"{o.number}:{row_version(o.updated_at)}" for o in fresh),
        "top": Cursor.of(fresh[0]).encode(),
    }


def first_poll(client: Client, params: dict[str, str], url: str = "/orders/live/") -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return str(response["Live-Cursor"])


def xmax(cursor: str) -> int:
    decoded = ChangeCursor.decode(cursor)
    assert decoded is not None, cursor
    return decoded.xmax


def rows_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="order-row-(\d+)"', html)]


def test_nothing_changed_is_an_empty_204_with_the_next_cursor(
    alice: Client, world: factories.World
) -> None:
    older = factories.order(world, email="older@example.com")
    newer = factories.order(world, email="newer@example.com")
    params = shown(newer, older)
    # Without a cursor (the page's first poll) every row is compared: nothing differs.
    response = alice.get("/orders/live/", params)
    assert response.status_code == 200
    assert rows_in(response.content.decode()) == []
    cursor = response["Live-Cursor"]

    unchanged = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert unchanged.status_code == 204
    assert unchanged.content == b""
    assert xmax(unchanged["Live-Cursor"]) >= xmax(cursor)


def test_the_poll_that_finds_nothing_sends_one_query(alice: Client, world: factories.World) -> None:
    order = factories.order(world)
    params = shown(order)
    cursor = first_poll(alice, params)
    alice.get("/orders/live/", {**params, "cursor": cursor})  # sessions, caches warm
    with CaptureQueriesContext(connection) as queries:
        response = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert response.status_code == 204
    probes = [q["sql"] for q in queries.captured_queries if "orders_order" in q["sql"]]
    assert len(probes) == 1
    assert "change_xid" in probes[0]


def test_a_changed_row_comes_back_and_an_unchanged_one_does_not(
    alice: Client, world: factories.World
) -> None:
    cara = factories.order(world, email="cara@example.com")
    bert = factories.order(world, email="bert@example.com")
    params = shown(bert, cara)
    cursor = first_poll(alice, params)

    Order.objects.filter(pk=cara.pk).update(
        status=OrderStatus.MARKED_COMPLETED, updated_at=timezone.now()
    )
    response = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert response.status_code == 200
    html = response.content.decode()
    assert rows_in(html) == [cara.number]
    assert "Marked as Completed" in html
    assert 'id="live-bar"' in html
    next_cursor = response["Live-Cursor"]
    assert xmax(next_cursor) > xmax(cursor)

    # With the new cursor and the row as now shown, nothing changed.
    again = alice.get("/orders/live/", {**shown(bert, cara), "cursor": next_cursor})
    assert again.status_code == 204


def test_a_write_that_leaves_the_shown_rows_as_they_are_redraws_none(
    alice: Client, world: factories.World
) -> None:
    shown_order = factories.order(world, email="shown@example.com")
    params = shown(shown_order)
    cursor = first_poll(alice, params)
    # Another order of the checkout, not on the page: found by the probe, no row to redraw.
    factories.order(world, email="new@example.com", status=OrderStatus.STARTED)
    response = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert response.status_code == 200
    html = response.content.decode()
    assert rows_in(html) == []
    assert "1 new order: show it" in html


def test_another_checkouts_writes_do_not_wake_the_poll(
    alice: Client, world: factories.World
) -> None:
    order = factories.order(world)
    other = factories.order(world, email="x@example.com")
    Order.objects.filter(pk=other.pk).update(
        checkout=world.other_checkout, organization=world.other_checkout.organization_id
    )
    cursor = first_poll(alice, shown(order))
    Order.objects.filter(pk=other.pk).update(first_name="Elsewhere")
    assert alice.get("/orders/live/", {**shown(order), "cursor": cursor}).status_code == 204


def test_every_nth_poll_recounts_the_counters_without_touching_the_bar(
    alice: Client, world: factories.World
) -> None:
    order = factories.order(world)
    cursor = first_poll(alice, shown(order))
    # An order begins to require attention as time passes (its failed actions are given a
    # few minutes), with no write: once its writes were seen, only the Nth poll counts it.
    late = timezone.now() - dt.timedelta(hours=1)
    factories.order(world, email="late@example.com", action_health=ActionHealth.FAILED)
    Order.objects.filter(customer_email="late@example.com").update(paid_at=late)
    cursor = alice.get("/orders/live/", {**shown(order), "cursor": cursor})["Live-Cursor"]
    assert alice.get("/orders/live/", {**shown(order), "cursor": cursor}).status_code == 204

    response = alice.get("/orders/live/", {**shown(order), "cursor": cursor, "counter": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="tab-attention-count"' in html
    assert 'id="nav-attention-count"' in html
    assert 'id="live-bar"' not in html  # the bar (maybe offering new orders) stays
    assert rows_in(html) == []


def test_the_open_panel_is_compared_at_every_poll(alice: Client, world: factories.World) -> None:
    order = factories.order(world)
    events = list(OrderEvent.objects.filter(order=order))
    version = panel_version(Order.objects.get(pk=order.pk).updated_at, events)
    params = {**shown(order), "panel": f"{order.number}:{version}"}
    cursor = first_poll(alice, params)
    assert alice.get("/orders/live/", {**params, "cursor": cursor}).status_code == 204

    # A note writes the timeline, not the order: the probe finds nothing, the panel check does.
    record_event(order, type="note", message="Called", actor=Actor.of_user(world.sam))
    response = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert response.status_code == 200
    assert f'"orders:panel-changed": {{"number": {order.number}}}' in response["HX-Trigger"]
    assert 'id="live-bar"' not in response.content.decode()


def test_a_cursor_that_is_not_one_is_no_cursor(alice: Client, world: factories.World) -> None:
    order = factories.order(world)
    for bad in ("abc", "-5", "9" * 40, "", "5:3:", "1:9:12"):
        response = alice.get("/orders/live/", {**shown(order), "cursor": bad})
        assert response.status_code == 200, bad  # compared in full, as a first poll
        assert ChangeCursor.decode(response["Live-Cursor"]) is not None


def test_the_counter_poll_of_other_pages_answers_204_until_something_changes(
    alice: Client, world: factories.World
) -> None:
    factories.order(world)
    response = alice.get("/live/attention/")
    assert response.status_code == 200
    assert 'id="nav-attention-count"' in response.content.decode()
    cursor = response["Live-Cursor"]
    assert alice.get("/live/attention/", {"cursor": cursor}).status_code == 204
    assert alice.get("/live/attention/", {"cursor": cursor, "counter": "1"}).status_code == 200

    late = timezone.now() - dt.timedelta(hours=1)
    factories.order(world, email="late@example.com", action_health=ActionHealth.FAILED)
    Order.objects.filter(customer_email="late@example.com").update(paid_at=late)
    counted = alice.get("/live/attention/", {"cursor": cursor})
    assert counted.status_code == 200
    assert re.search(r'id="nav-attention-count"[^>]*>1<', counted.content.decode())


def test_anonymous_polls_go_to_login(client: Client, db: None) -> None:
    assert client.get("/orders/live/", {"cursor": "1"}).status_code == 302
    assert client.get("/live/attention/", {"cursor": "1"}).status_code == 302


def test_a_poll_that_redraws_a_row_reads_it_in_full_once_and_counts_in_one_statement(
    alice: Client, world: factories.World
) -> None:
    """Only the changed row is read in full (the table's columns, once), and the new orders
    and the counter are counted in one statement."""
    cara = factories.order(world, email="cara@example.com")
    bert = factories.order(world, email="bert@example.com")
    params = shown(bert, cara)
    cursor = first_poll(alice, params)
    Order.objects.filter(pk=cara.pk).update(first_name="Carita", updated_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        response = alice.get("/orders/live/", {**params, "cursor": cursor})
    assert response.status_code == 200
    assert rows_in(response.content.decode()) == [cara.number]
    statements = [q["sql"] for q in queries.captured_queries]

    def reading(table: str) -> list[str]:
        return [sql for sql in statements if re.search(rf'FROM "?{table}"?\s', sql)]

    orders = reading("orders_order")
    # The probe, the shown rows' versions, the changed row, the two counts (one statement).
    assert len(orders) == 4, orders
    assert "change_xid" in orders[0]
    assert "search_text" not in orders[2]
    assert orders[3].count("COUNT(*)") == 2
    assert len(reading("orders_orderline")) == 1
    assert len(reading("payments_paymentattempt")) == 1
    assert 'id="tab-attention-count"' in response.content.decode()
