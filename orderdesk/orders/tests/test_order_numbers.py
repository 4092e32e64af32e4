"""Order numbers under concurrency: only PostgreSQL runs checkouts truly in parallel."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from orderdesk.orders.models import Order
from orderdesk.testing import factories
from orderdesk.workflows import checkout

THREADS = 8
ORDERS_PER_THREAD = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_hands_out_unique_sequential_numbers_to_concurrent_checkouts() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    w = factories.world()
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def open_orders() -> None:
        try:
            start.wait()
            for _ in range(ORDERS_PER_THREAD):
                checkout.open_order(w.checkout, link_slug=w.link.slug)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_orders) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(Order.objects.filter(organization=w.org).values_list("number", flat=True))
    assert numbers == list(range(1, THREADS * ORDERS_PER_THREAD + 1))
    w.org.refresh_from_db()
    assert w.org.last_order_number == THREADS * ORDERS_PER_THREAD
