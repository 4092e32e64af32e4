"""The free-text search's share, estimated from the column's statistics as the planner would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from orderdesk.orders import text_statistics
from orderdesk.orders.models import Order
from orderdesk.orders.text_statistics import text_share
from orderdesk.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_statistics() -> Iterator[None]:
    text_statistics.forget()
    yield
    text_statistics.forget()


def test_without_statistics_there_is_no_estimate(world: factories.World) -> None:
    factories.order(world, last_name="Korhonen")
    # SQLite keeps none; PostgreSQL has none for a table never analysed with enough rows.
    assert text_share(["korhonen"], using="default") is None


@pytest.mark.postgres
def test_the_share_follows_the_analysed_orders(world: factories.World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_stats is PostgreSQL's")
    first = factories.order(world, last_name="Virtanen")
    # 400 orders, one in ten a Korhonen, each with its own address (a histogram, not a few
    # most common values).
    Order.objects.bulk_create(
        [
            Order(
                organization=world.org,
                checkout=world.checkout,
                number=first.number + i,
                currency="EUR",
                created_at=first.created_at,
                customer_email=f"person{i}@example.com",
                first_name="Aino" if i % 3 else "Matti",
                last_name="Korhonen" if i % 10 == 0 else f"Surname{i}",
            )
            for i in range(1, 401)
        ]
    )
    with connection.cursor() as cursor:
        # Inside the test's transaction: rolled back with it.
        cursor.execute("ANALYZE orders_order")

    korhonen = text_share(["Korhonen"], using="default")
    assert korhonen is not None
    assert 0.05 < korhonen < 0.15
    # Every word must be held: Korhonen and Matti together are a third of the Korhonens.
    both = text_share(["korhonen", "MATTI"], using="default")
    assert both is not None
    assert 0 < both < korhonen
    assert text_share(["qqxjzv"], using="default") == 0
    assert text_share(["korhonen", "qqxjzv"], using="default") == 0
