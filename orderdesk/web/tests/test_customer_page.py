"""The customer's page in the web UI: reached from the panel and the table, scoped to what the
member may see, refusing a bad email with a message."""

from __future__ import annotations

from django.test import Client

from orderdesk.orders.events import EventType
from orderdesk.orders.models import Order, OrderEvent
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


def test_customer_service_exports_json_and_csv_and_the_timeline_says_so(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, email=EMAIL)
    client.force_login(world.sam)

    as_json = client.post("/customers/export/", {"email": EMAIL, "format": "json"})
    as_csv = client.post("/customers/export/", {"email": EMAIL, "format": "csv"})

    assert as_json.status_code == 200
    assert as_json.json()["orders"][0]["number"] == order.number
    assert 'filename="customer-aino' in as_json["Content-Disposition"]
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert str(order.number) in as_csv.content.decode()
    assert order.events.filter(type=EventType.CUSTOMER_DATA_EXPORTED).count() == 2


def test_customer_service_erases_after_confirming_the_count(
    client: Client, world: factories.World
) -> None:
    factories.order(world, email=EMAIL)
    factories.order(world, email=EMAIL)
    client.force_login(world.sam)

    confirm = client.get("/customers/erase/", {"email": EMAIL})
    mistyped = client.post(
        "/customers/erase/", {"email": EMAIL, "expected": "2", "confirm": "aino@example.org"}
    )
    done = client.post(
        "/customers/erase/", {"email": EMAIL, "expected": "2", "confirm": "AINO@example.com"}
    )

    assert "<strong>2 orders</strong>" in confirm.content.decode()
    assert mistyped.status_code == 400
    assert "Type the customer&#x27;s email exactly to confirm." in mistyped.content.decode()
    assert done.status_code == 200
    assert "The personal data of 2 orders was erased." in done.content.decode()
    assert not Order.objects.filter(customer_email=EMAIL).exists()


def test_an_erase_whose_count_changed_is_refused(client: Client, world: factories.World) -> None:
    factories.order(world, email=EMAIL)
    factories.order(world, email=EMAIL)
    client.force_login(world.sam)

    response = client.post("/customers/erase/", {"email": EMAIL, "expected": "1", "confirm": EMAIL})

    assert response.status_code == 409
    assert "now has 2 orders, not 1" in response.content.decode()
    assert Order.objects.filter(customer_email=EMAIL).count() == 2


def test_a_viewer_sees_no_export_or_erase_and_is_refused(
    client: Client, world: factories.World
) -> None:
    factories.order(world, email=EMAIL)
    client.force_login(world.bob)

    page = client.get("/customers/", {"email": EMAIL}).content.decode()
    export = client.post("/customers/export/", {"email": EMAIL, "format": "json"})
    erase_page = client.get("/customers/erase/", {"email": EMAIL})
    erase = client.post("/customers/erase/", {"email": EMAIL, "expected": "1", "confirm": EMAIL})

    assert "Export data" not in page
    assert "Erase personal data" not in page
    assert (export.status_code, erase_page.status_code, erase.status_code) == (403, 403, 403)
    assert Order.objects.filter(customer_email=EMAIL).count() == 1
    assert not OrderEvent.objects.filter(type=EventType.CUSTOMER_DATA_EXPORTED).exists()


def test_another_organization_cannot_export_or_erase(
    client: Client, world: factories.World
) -> None:
    factories.order(world, email=EMAIL)
    client.force_login(world.charlie)

    export = client.post("/customers/export/", {"email": EMAIL, "format": "csv"})
    erase = client.post("/customers/erase/", {"email": EMAIL, "expected": "1", "confirm": EMAIL})

    assert (export.status_code, erase.status_code) == (404, 404)
    assert Order.objects.filter(customer_email=EMAIL).count() == 1
