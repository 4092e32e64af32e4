from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.catalog.models import DiscountCode
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import ActionHealth, Order, OrderStatus, OrderTag
from orderdesk.orders.queries import (
    Cursor,
    OrderFilters,
    count_capped,
    counts_capped,
    filter_orders,
    page_orders,
    tag_index_ids,
)
from orderdesk.testing import factories

pytestmark = pytest.mark.django_db


def matching(world: factories.World, **params: str) -> list[int]:
    form = OrderFilterForm(params, tz=ZoneInfo("Europe/Helsinki"))
    assert form.messages() == {}
    qs = filter_orders(
        Order.objects.filter(checkout=world.checkout),
        form.filters,
        checkout_ids=[world.checkout.pk],
    )
    return sorted(qs.values_list("number", flat=True))


def test_it_filters_by_number_email_and_names(world: factories.World) -> None:
    a = factories.order(world, email="anna@example.com", first_name="Anna", last_name="Virtanen")
    b = factories.order(world, email="bert@shop.fi", first_name="Bert", last_name="Korhonen")
    assert matching(world, number=str(a.number)) == [a.number]
    assert matching(world, email="ANNA@example.com") == [a.number]
    assert matching(world, email="shop.fi") == [b.number]
    assert matching(world, first_name="bert") == [b.number]
    assert matching(world, last_name="VIRTANEN") == [a.number]
    assert matching(world, email="nobody@example.com") == []


def test_it_filters_by_status_source_tag_and_code(world: factories.World) -> None:
    code = DiscountCode.objects.create(
        checkout=world.checkout, code="SPRING", kind="percentage", percent=10
    )
    paid = factories.order(world, discount_code=code)
    refunded = factories.order(world, status=OrderStatus.REFUNDED)
    Order.objects.filter(pk=refunded.pk).update(source="Google")
    OrderTag.objects.create(
        order=refunded, checkout=world.checkout, tag="rare", created_at=refunded.created_at
    )
    assert matching(world, status="refunded") == [refunded.number]
    assert matching(world, source="Google") == [refunded.number]
    assert matching(world, source="Meta") == [paid.number]
    assert matching(world, tag="rare") == [refunded.number]
    assert matching(world, tag="black-friday") == [paid.number, refunded.number]
    assert matching(world, discount_code="spring") == [paid.number]
    assert matching(world, discount_code="UNUSED") == []


def _tag(order: Order, tag: str) -> None:
    OrderTag.objects.create(
        order=order, checkout=order.checkout, tag=tag, created_at=order.created_at
    )


def test_a_tag_alone_reads_the_same_ids_in_the_same_order_from_the_tag_index(
    world: factories.World,
) -> None:
    now = timezone.now()
    # Two by two at the same moment, so the id breaks the ties; one order holds two tags
    # that fold alike; another checkout's order has the tag too.
    orders = [factories.order(world, created_at=now - dt.timedelta(hours=i // 2)) for i in range(8)]
    for o in (orders[1], orders[3], orders[4], orders[5]):
        _tag(o, "Évent")
    _tag(orders[4], "event")
    other = factories.checkout(world.org)[0]
    outside = factories.order(world, created_at=now)
    Order.objects.filter(pk=outside.pk).update(checkout=other)
    OrderTag.objects.filter(order=outside).update(checkout=other)
    _tag(Order.objects.get(pk=outside.pk), "event")
    checkout_ids = [world.checkout.pk]
    filters = OrderFilters(tag="EVENT")

    ids = tag_index_ids(filters, checkout_ids)

    assert ids is not None
    expected = filter_orders(
        Order.objects.filter(checkout_id__in=checkout_ids), filters, checkout_ids=checkout_ids
    ).order_by("-created_at", "-pk")
    assert list(ids) == list(expected.values_list("pk", flat=True))
    assert list(ids) == [o.pk for o in (orders[1], orders[3], orders[5], orders[4])]
    # Read in two parts, as an export reads them, each order still comes once.
    assert list(ids[:1]) + list(ids[1:]) == list(ids)


@pytest.mark.parametrize(
    "filters",
    [
        OrderFilters(),
        OrderFilters(status=OrderStatus.PAID),
        OrderFilters(tag="event", status=OrderStatus.PAID),
        OrderFilters(tag="event", q="Korhonen"),
        OrderFilters(tag="event", requires_attention=True),
    ],
    ids=["none", "status", "tag and status", "tag and text", "tag on the attention tab"],
)
def test_only_a_tag_alone_is_read_from_the_tag_index(filters: OrderFilters) -> None:
    assert tag_index_ids(filters, [1]) is None


def test_it_filters_by_date_range_in_the_given_time_zone(world: factories.World) -> None:
    helsinki = dt.timezone(dt.timedelta(hours=2))
    late = factories.order(world, created_at=dt.datetime(2026, 1, 31, 23, 30, tzinfo=helsinki))
    early = factories.order(world, created_at=dt.datetime(2026, 2, 1, 0, 30, tzinfo=helsinki))
    assert matching(world, date_to="2026-01-31") == [late.number]
    assert matching(world, date_from="2026-02-01") == [early.number]
    assert matching(world, date_from="2026-01-31", date_to="2026-02-01") == [
        late.number,
        early.number,
    ]


def test_it_matches_free_text_on_number_email_and_names(world: factories.World) -> None:
    a = factories.order(world, email="anna@example.com", first_name="Anna", last_name="Virtanen")
    b = factories.order(world, email="bert@shop.fi", first_name="Bert", last_name="Korhonen")
    assert matching(world, q=f"#{b.number}") == [b.number]
    assert matching(world, q="virta") == [a.number]
    assert matching(world, q="BERT") == [b.number]
    assert matching(world, q="example") == [a.number]


def test_it_combines_filters(world: factories.World) -> None:
    a = factories.order(world, email="anna@example.com")
    factories.order(world, email="anna@example.com", status=OrderStatus.REFUNDED)
    factories.order(world, email="other@example.com")
    assert matching(world, email="anna@example.com", status="paid") == [a.number]
    assert matching(world, q="anna", tag="black-friday", status="paid") == [a.number]


def test_it_lists_orders_requiring_attention(world: factories.World) -> None:
    old = timezone.now() - dt.timedelta(hours=1)
    failed = factories.order(world, created_at=old, action_health=ActionHealth.FAILED)
    factories.order(world, created_at=old, action_health=ActionHealth.SUCCEEDED)
    factories.order(world, action_health=ActionHealth.PENDING)  # paid just now: still running
    factories.order(
        world, created_at=old, status=OrderStatus.REFUNDED, action_health=ActionHealth.FAILED
    )
    marked = factories.order(
        world,
        created_at=old,
        status=OrderStatus.MARKED_COMPLETED,
        action_health=ActionHealth.PENDING,
    )
    attention = Order.objects.requiring_attention(timezone.now())
    numbers = sorted(attention.values_list("number", flat=True))
    assert numbers == [failed.number, marked.number]
    assert matching(world, tab="attention") == [failed.number, marked.number]


def test_it_pages_by_keyset_newest_first(world: factories.World) -> None:
    start = timezone.now() - dt.timedelta(days=1)
    # Two orders share each timestamp, so ties must be broken by id.
    for i in range(7):
        factories.order(world, created_at=start + dt.timedelta(minutes=i // 2))
    qs = Order.objects.filter(checkout=world.checkout)
    first = page_orders(qs, size=3)
    assert [o.number for o in first.orders] == [7, 6, 5]
    assert first.is_first
    assert first.newer is None
    assert first.older is not None
    second = page_orders(qs, after=first.older, size=3)
    assert [o.number for o in second.orders] == [4, 3, 2]
    assert second.newer is not None
    assert second.older is not None
    last = page_orders(qs, after=second.older, size=3)
    assert [o.number for o in last.orders] == [1]
    assert last.older is None
    back = page_orders(qs, before=last.newer, size=3)
    assert [o.number for o in back.orders] == [4, 3, 2]
    back_to_first = page_orders(qs, before=back.newer, size=3)
    assert [o.number for o in back_to_first.orders] == [7, 6, 5]
    assert back_to_first.is_first
    assert back_to_first.newer is None


def test_it_round_trips_cursors_and_rejects_garbage() -> None:
    cursor = Cursor(created_at=dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC), id=99)
    assert Cursor.decode(cursor.encode()) == cursor
    for raw in ("", "abc", "1_", "_1", "1-2", "9" * 40 + "_1", "9" * 18 + "_1"):
        assert Cursor.decode(raw) is None


def test_it_caps_the_count(world: factories.World) -> None:
    for _ in range(4):
        factories.order(world)
    qs = Order.objects.filter(checkout=world.checkout)
    assert count_capped(qs, cap=5) == (4, False)
    assert count_capped(qs, cap=4) == (4, False)
    assert count_capped(qs, cap=3) == (3, True)
    # A condition that matches nothing whatever the rows (an unknown discount code's ids).
    assert count_capped(qs.filter(pk__in=[])) == (0, False)
    assert count_capped(qs.none()) == (0, False)


def test_it_caps_several_counts_in_one_statement(world: factories.World) -> None:
    for email in ("a@example.com", "b@example.com", "c@example.com", "d@example.com"):
        factories.order(world, email=email)
    every = Order.objects.filter(checkout=world.checkout)
    some = every.filter(customer_email__in=["a@example.com", "b@example.com"])
    with CaptureQueriesContext(connection) as queries:
        counts = counts_capped((every, 3), (some, 5), (every.none(), 1), (every, 4))
    assert counts == [(3, True), (2, False), (0, False), (4, False)]
    assert len(queries.captured_queries) == 1
    assert counts_capped() == []
