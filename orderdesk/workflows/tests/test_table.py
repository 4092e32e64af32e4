"""The orders table's page: cursors read once, the count it knows, each row's products and payment."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.queries import Cursor, OrderFilters
from orderdesk.payments.models import PaymentAttempt, PaymentStatus
from orderdesk.testing import factories
from orderdesk.workflows.table import PageCursors, table_page


def test_it_reads_cursors_and_names_the_ones_that_are_not() -> None:
    cursor = Cursor(created_at=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC), id=7)

    assert PageCursors.read() == (PageCursors(), [])
    assert PageCursors.read(after=cursor.encode()) == (PageCursors(after=cursor), [])
    assert PageCursors.read(after="x_1", before=cursor.encode()) == (
        PageCursors(before=cursor),
        ["after"],
    )
    assert PageCursors.read(after="1_2", before="soon")[1] == ["before"]


def test_a_single_page_knows_its_count_and_a_longer_list_does_not(
    world: factories.World,
) -> None:
    now = timezone.now()
    for hours in range(3):
        factories.order(world, created_at=now - dt.timedelta(hours=hours))

    whole = table_page(
        Order.objects.filter(checkout=world.checkout),
        OrderFilters(),
        checkout_ids=[world.checkout.pk],
    )
    first = table_page(
        Order.objects.filter(checkout=world.checkout),
        OrderFilters(),
        checkout_ids=[world.checkout.pk],
        size=2,
    )
    assert first.older is not None
    second = table_page(
        Order.objects.filter(checkout=world.checkout),
        OrderFilters(),
        checkout_ids=[world.checkout.pk],
        cursors=PageCursors(after=first.older),
        size=2,
    )

    assert (whole.count, len(whole.rows)) == (3, 3)
    assert (first.count, len(first.rows), first.is_first) == (None, 2, True)
    assert (second.count, len(second.rows), second.is_first) == (None, 1, False)
    assert second.newer == Cursor.of(second.rows[0].order)


def test_rows_show_products_by_position_and_the_payment_that_settled(
    world: factories.World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    order = factories.order(world, add_ons=(world.bump,))
    PaymentAttempt.objects.create(
        order=order,
        provider="paytrail",
        method="nordea",
        status=PaymentStatus.FAILED,
        amount_minor=order.total_minor,
        currency="EUR",
        stamp="a-later-failure",
        created_at=timezone.now() + dt.timedelta(minutes=1),
    )
    unpaid = factories.order(world, created_at=timezone.now() - dt.timedelta(hours=1))
    PaymentAttempt.objects.filter(order=unpaid).update(status=PaymentStatus.FAILED)
    never = factories.order(
        world, status=OrderStatus.STARTED, created_at=timezone.now() - dt.timedelta(days=1)
    )

    # The page, then its lines and its attempts.
    with django_assert_num_queries(3):
        rows = table_page(
            Order.objects.filter(checkout=world.checkout),
            OrderFilters(),
            checkout_ids=[world.checkout.pk],
        ).rows

    assert [row.order for row in rows] == [order, unpaid, never]
    assert [p.name for p in rows[0].products] == ["Photography Masterclass", "Workbook PDF"]
    payments = [(row.payment.provider, row.payment.status) if row.payment else None for row in rows]
    assert payments == [("stripe", "succeeded"), ("stripe", "failed"), None]
