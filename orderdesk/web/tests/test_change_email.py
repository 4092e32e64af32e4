"""Correct the buyer's email from the panel: who may, what is refused, what the panel says."""

from __future__ import annotations

from django.test import Client

from orderdesk.orders.events import EventType
from orderdesk.testing import factories

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


def test_customer_service_corrects_the_email(client: Client, world: factories.World) -> None:
    order = factories.order(world, email="aino@exmaple.com")
    client.force_login(world.sam)

    response = client.post(
        f"/orders/{order.number}/email/", {"email": "Aino@Example.com"}, headers=HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Email changed to aino@example.com" in html
    assert "Customer email changed: aino@exmaple.com → aino@example.com" in html
    order.refresh_from_db()
    assert order.customer_email == "aino@example.com"


def test_a_bad_or_same_email_is_refused_and_nothing_changes(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, email="aino@example.com")
    client.force_login(world.sam)

    bad = client.post(f"/orders/{order.number}/email/", {"email": "aino@"}, headers=HTMX)
    same = client.post(
        f"/orders/{order.number}/email/", {"email": "aino@example.com"}, headers=HTMX
    )

    assert (bad.status_code, same.status_code) == (400, 400)
    assert "Give a whole email address" in bad.content.decode()
    assert "already aino@example.com" in same.content.decode()
    assert not order.events.filter(type=EventType.EMAIL_CHANGED).exists()


def test_a_viewer_cannot_change_it_and_another_organization_cannot_find_it(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, email="aino@example.com")
    client.force_login(world.bob)
    panel = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    viewer = client.post(f"/orders/{order.number}/email/", {"email": "x@example.com"})
    client.force_login(world.charlie)
    stranger = client.post(f"/orders/{order.number}/email/", {"email": "x@example.com"})

    assert "Change email" not in panel
    assert (viewer.status_code, stranger.status_code) == (403, 404)
    order.refresh_from_db()
    assert order.customer_email == "aino@example.com"
