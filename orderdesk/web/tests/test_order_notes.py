"""Internal notes from the order panel: who may write them, who reads them, what is refused."""

from __future__ import annotations

import pytest
from django.test import Client

from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActorType, Order, OrderEvent
from orderdesk.testing import factories

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


@pytest.fixture
def order(world: factories.World) -> Order:
    return factories.order(world)


def test_customer_service_adds_a_note_shown_on_the_timeline(
    client: Client, world: factories.World, order: Order
) -> None:
    client.force_login(world.sam)

    response = client.post(
        f"/orders/{order.number}/notes/", {"text": "Asked for an invoice <b>copy</b>"}, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Note added" in html
    assert "Internal note" in html
    assert "Asked for an invoice &lt;b&gt;copy&lt;/b&gt;" in html
    note = OrderEvent.objects.get(order=order, type=EventType.INTERNAL_NOTE)
    assert (note.actor_type, note.actor_user, note.actor_label) == (
        ActorType.USER,
        world.sam,
        "sam@example.com",
    )


def test_a_viewer_reads_notes_without_the_form_and_gets_403_when_posting(
    client: Client, world: factories.World, order: Order
) -> None:
    client.force_login(world.sam)
    client.post(f"/orders/{order.number}/notes/", {"text": "Refund promised"}, headers=HTMX)
    client.force_login(world.bob)

    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    posted = client.post(f"/orders/{order.number}/notes/", {"text": "Mine"}, headers=HTMX)

    assert "Refund promised" in html
    assert 'name="text"' not in html
    assert posted.status_code == 403
    assert OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).count() == 1


def test_an_empty_note_is_refused_with_a_message(
    client: Client, world: factories.World, order: Order
) -> None:
    client.force_login(world.sam)

    response = client.post(f"/orders/{order.number}/notes/", {"text": "  "}, headers=HTMX)

    assert response.status_code == 400
    assert "Write the note first." in response.content.decode()
    assert not OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).exists()


def test_another_organizations_member_cannot_note_the_order(
    client: Client, world: factories.World, order: Order
) -> None:
    client.force_login(world.charlie)

    response = client.post(f"/orders/{order.number}/notes/", {"text": "Hi"}, headers=HTMX)

    assert response.status_code == 404
    assert not OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).exists()


def test_without_htmx_a_note_returns_to_the_order(
    client: Client, world: factories.World, order: Order
) -> None:
    client.force_login(world.alice)

    response = client.post(f"/orders/{order.number}/notes/", {"text": "Plain form"})

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.number}/#panel-timeline"
