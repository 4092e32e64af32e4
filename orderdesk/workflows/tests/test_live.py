"""The live table's change marker and cursor (workflows/live.py, migration 0012): every write
of an order marks it, and no change is missed, however its transaction commits.

Transactional: on PostgreSQL a cursor is the probe snapshot's xmin, which the test's own open
transaction would hold back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.queries import OrderFilters
from orderdesk.testing import factories
from orderdesk.workflows.live import (
    MAX_RUNNING,
    ChangeCursor,
    changes_since,
    live_changes,
    row_version,
)

pytestmark = pytest.mark.django_db(transaction=True)


def marker(order: Order) -> int:
    found = Order.objects.filter(pk=order.pk).values_list("change_xid", flat=True).get()
    assert found is not None, "an order written carries a marker"
    return found


def new_since(cursor: ChangeCursor, order: Order) -> bool:
    return Order.objects.filter(cursor.q(), pk=order.pk).exists()


def test_every_write_path_marks_the_order_past_the_last_cursor() -> None:
    world = factories.world()
    order = factories.order(world)
    marker(order)  # inserted

    checkout = [world.checkout.pk]
    cursor = changes_since(checkout, None).cursor
    assert changes_since(checkout, cursor).changed is False
    assert not new_since(cursor, order)
    order.first_name = "Saved"
    order.save()
    assert new_since(cursor, order)
    assert changes_since(checkout, cursor).changed is True

    cursor = changes_since(checkout, cursor).cursor
    assert not new_since(cursor, order)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.MARKED_COMPLETED)
    assert new_since(cursor, order)

    cursor = changes_since(checkout, cursor).cursor
    with connection.cursor() as db:
        db.execute("UPDATE orders_order SET last_name = 'Raw' WHERE id = %s", [order.pk])
    assert new_since(cursor, order)
    assert changes_since(checkout, cursor).changed is True


def test_a_cursor_without_writes_since_finds_nothing_and_moves_on() -> None:
    world = factories.world()
    factories.order(world)
    first = changes_since([world.checkout.pk], None)
    assert first.changed is True  # no cursor: the caller compares everything
    second = changes_since([world.checkout.pk], first.cursor)
    assert second.changed is False
    assert second.cursor.xmax >= first.cursor.xmax


def test_a_cursor_reads_back_as_written_and_nothing_else_is_one() -> None:
    cursor = ChangeCursor(xmax=120, running=(100, 117))
    assert cursor.encode() == "100:120:100,117"
    assert ChangeCursor.decode(cursor.encode()) == cursor
    assert ChangeCursor.decode("120:120:") == ChangeCursor(xmax=120)
    for bad in ("", "abc", "-5", "120", "9" * 40 + ":1:", "130:120:", "100:120:99", "1:2:x"):
        assert ChangeCursor.decode(bad) is None, bad
    # Too many running: only the xmin is kept, and everything from it on counts as new.
    many = ",".join(str(1000 + i) for i in range(MAX_RUNNING + 1))
    assert ChangeCursor.of_snapshot(f"1000:2000:{many}") == ChangeCursor(xmax=1000)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite writes one transaction at a time"
)
def test_a_transaction_committing_after_a_later_one_is_not_missed() -> None:
    """Transaction L marks an order first (its id is the smaller) but commits after E, which
    a poll saw: the cursor that poll gives stays at or below L's id, so the next poll finds
    L's write, and the shown row comes back."""
    world = factories.world()
    late = factories.order(world, email="late@example.com")
    early = factories.order(world, email="early@example.com")
    shown = {
        o.number: row_version(o.updated_at)
        for o in Order.objects.filter(pk__in=[late.pk, early.pk])
    }
    checkout = [world.checkout.pk]
    cursor = changes_since(checkout, None).cursor

    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.autocommit = False
        with other.cursor() as db:
            db.execute(
                "UPDATE orders_order SET first_name = 'Late', updated_at = now() WHERE id = %s",
                [late.pk],
            )
            db.execute("SELECT pg_current_xact_id()::text::bigint")
            row = db.fetchone()
            assert row is not None
            late_xid = int(row[0])
        # E: begins after L, commits first.
        Order.objects.filter(pk=early.pk).update(first_name="Early", updated_at=timezone.now())
        seen = changes_since(checkout, cursor)
        assert seen.changed is True
        # L still runs: the cursor names it, so its marker counts as new next time.
        assert late_xid in seen.cursor.running or late_xid >= seen.cursor.xmax
        assert ChangeCursor.decode(seen.cursor.encode()) == seen.cursor
        first = live_changes(
            Order.objects.filter(checkout_id=world.checkout.pk),
            OrderFilters(),
            checkout_ids=checkout,
            rows=shown,
            top=None,
            panel=None,
            since=cursor,
        )
        assert first.changed_numbers == [early.number]  # L's write is not visible yet
        other.commit()
    finally:
        other.close()

    after = changes_since(checkout, seen.cursor)
    assert after.changed is True
    second = live_changes(
        Order.objects.filter(checkout_id=world.checkout.pk),
        OrderFilters(),
        checkout_ids=checkout,
        rows=shown,
        top=None,
        panel=None,
        since=seen.cursor,
    )
    assert late.number in second.changed_numbers
    assert changes_since(checkout, after.cursor).changed is False
