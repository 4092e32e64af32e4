"""The customer's page in the web UI: reached from the panel and the table, scoped to what the
member may see, refusing a bad email with a message."""

from __future__ import annotations

from django.test import Client

from orderdesk.orders.models import Order
from orderdesk.testing import factories

EMAIL = "aino@example.com"


def test_it_lists_the_customers_orders_with_links(client: Client, world: factories.World) -> None:
    first = factories.order(world, email=EMAIL)
    second = factories.order(world, email=EMAIL, currency="SEK")
    factories.order(world, email="other@example.com")
    client.force_login(world.bob)  # a viewer reads it too

    response = client.get("/customers/", {"email": "AINO@example.com"})

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/orders/{first.number}/"' in html
    assert f'href="/orders/{second.number}/"' in html
    assert "other@example.com" not in html
    assert "SEK" in html
    assert "EUR" in html


def test_the_panel_and_the_table_link_to_it(client: Client, world: factories.World) -> None:
    order = factories.order(world, email="anna+vip@example.com")
    client.force_login(world.sam)

    panel = client.get(
        f"/orders/{order.number}/", headers={"HX-Request": "true", "HX-Target": "panel"}
    ).content.decode()
    table = client.get("/orders/").content.decode()

    link = 'href="/customers/?email=anna%2Bvip@example.com"'
    assert link in panel
    assert link in table


def test_another_organizations_member_gets_404(client: Client, world: factories.World) -> None:
    factories.order(world, email=EMAIL)
    client.force_login(world.charlie)

    response = client.get("/customers/", {"email": EMAIL})

    assert response.status_code == 404


def test_a_bad_email_is_a_400_with_a_message(client: Client, world: factories.World) -> None:
    client.force_login(world.sam)

    missing = client.get("/customers/")
    bad = client.get("/customers/", {"email": "not-an-email\x00"})

    assert missing.status_code == bad.status_code == 400
    assert "Give the customer&#x27;s email address." in missing.content.decode()
    assert "Give a whole email address" in bad.content.decode()


def test_an_email_without_orders_is_a_404(client: Client, world: factories.World) -> None:
    client.force_login(world.sam)

    assert client.get("/customers/", {"email": "nobody@example.com"}).status_code == 404
    assert not Order.objects.exists()
