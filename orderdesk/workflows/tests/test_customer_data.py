"""A customer's data on request: the export holds everything but internal notes, the erase
blanks personal data and keeps the books, and both leave a timeline entry per order."""

from __future__ import annotations

import csv
import io
import json

import pytest

from orderdesk.actions.models import ActionSnapshot
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderEvent
from orderdesk.orders.notes import add_note
from orderdesk.testing import factories
from orderdesk.workflows.customer_data import (
    ERASED,
    CountChanged,
    customer_csv,
    customer_data,
    erase_customer,
    record_export,
)

pytestmark = pytest.mark.django_db

EMAIL = "aino@example.com"


@pytest.fixture
def orders(world: factories.World) -> list[Order]:
    first = factories.order(
        world, email=EMAIL, phone="+358 40 123", city="Tampere", user_agent="Firefox"
    )
    second = factories.order(world, email=EMAIL, extra_fields={"Student id": "A-1"})
    factories.order(world, email="other@example.com")
    return [first, second]


def test_the_export_holds_the_orders_but_no_internal_notes(
    world: factories.World, orders: list[Order]
) -> None:
    add_note(orders[0], text="Rude on the phone", actor=Actor.of_user(world.sam))
    record_event(orders[0], type=EventType.NOTE, message="Paid by card", actor=Actor.system())

    data = customer_data(Order.objects.filter(checkout=world.checkout), "AINO@example.com")

    assert [o["number"] for o in data["orders"]] == [orders[0].number, orders[1].number]
    first = data["orders"][0]
    assert (first["phone"], first["city"], first["user_agent"]) == (
        "+358 40 123",
        "Tampere",
        "Firefox",
    )
    assert first["lines"][0]["name"] == "Photography Masterclass"
    assert first["payments"][0]["provider"] == "stripe"
    messages = [e["message"] for e in first["timeline"]]
    assert "Paid by card" in messages
    assert "Rude on the phone" not in json.dumps(data)


def test_the_csv_has_a_row_per_order_and_defuses_formulas(
    world: factories.World, orders: list[Order]
) -> None:
    Order.objects.filter(pk=orders[1].pk).update(first_name="=HYPERLINK(1)")

    text = customer_csv(customer_data(Order.objects.filter(checkout=world.checkout), EMAIL))

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["number"]) for r in rows] == [orders[0].number, orders[1].number]
    assert rows[1]["first_name"] == "'=HYPERLINK(1)"
    assert rows[0]["products"] == "1 × Photography Masterclass"


def test_an_export_is_recorded_on_each_order(world: factories.World, orders: list[Order]) -> None:
    count = record_export(
        Order.objects.filter(checkout=world.checkout),
        EMAIL,
        file_format="csv",
        actor=Actor.of_user(world.sam),
    )

    assert count == 2
    events = OrderEvent.objects.filter(type=EventType.CUSTOMER_DATA_EXPORTED)
    assert sorted(e.order_id for e in events) == sorted(o.pk for o in orders)
    assert {e.actor_label for e in events} == {"sam@example.com"}


def test_erasing_blanks_personal_data_and_keeps_the_books(
    world: factories.World, orders: list[Order]
) -> None:
    first = orders[0]
    record_event(first, type=EventType.NOTE, message=f"Sent to {EMAIL}", actor=Actor.system())
    snapshot = factories.failed_kajabi_action(world, first)
    ActionSnapshot.objects.filter(pk=snapshot.pk).update(last_error=f"{EMAIL} is invalid")
    before = Order.objects.values("total_minor", "vat_minor", "number", "created_at").get(
        pk=first.pk
    )

    erased = erase_customer(
        Order.objects.filter(checkout=world.checkout),
        EMAIL,
        expected=2,
        actor=Actor.of_user(world.sam),
    )

    assert erased == 2
    first.refresh_from_db()
    assert (first.customer_email, first.first_name, first.phone, first.city) == ("", "", "", "")
    assert (first.user_agent, first.extra_fields) == ("", {})
    assert first.search_text.strip() == ""
    assert (
        Order.objects.values("total_minor", "vat_minor", "number", "created_at").get(pk=first.pk)
        == before
    )
    assert first.lines.count() == 1
    assert not OrderEvent.objects.filter(message__contains=EMAIL).exists()
    assert OrderEvent.objects.filter(message=f"Sent to {ERASED}").exists()
    snapshot.refresh_from_db()
    assert snapshot.last_error == f"{ERASED} is invalid"
    assert OrderEvent.objects.filter(type=EventType.CUSTOMER_DATA_ERASED).count() == 2
    assert Order.objects.filter(customer_email="other@example.com").count() == 1


def test_a_changed_count_erases_nothing(world: factories.World, orders: list[Order]) -> None:
    with pytest.raises(CountChanged) as raised:
        erase_customer(
            Order.objects.filter(checkout=world.checkout),
            EMAIL,
            expected=1,
            actor=Actor.of_user(world.sam),
        )

    assert str(raised.value) == (
        "The customer now has 2 orders, not 1: review the confirmation again."
    )
    assert Order.objects.filter(customer_email=EMAIL).count() == 2
