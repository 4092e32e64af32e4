"""The account page: a member's time zone (applied to every page) and password change."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from orderdesk.organizations.models import User
from orderdesk.testing import factories


def test_the_account_page_offers_the_organizations_zone_as_default(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.sam)

    html = client.get("/account/").content.decode()

    assert "The organization&#x27;s (Europe/Helsinki)" in html
    assert "Now: Europe/Helsinki." in html
    assert 'name="old_password"' in html


def test_a_member_chooses_a_time_zone_and_the_orders_follow_it(
    client: Client, world: factories.World
) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC), tick=False):
        order = factories.order(world)
    client.force_login(world.sam)

    saved = client.post("/account/", {"time_zone": "America/New_York"})
    panel = client.get(f"/orders/{order.number}/").content.decode()

    assert saved.status_code == 302
    world.sam.refresh_from_db()
    assert world.sam.time_zone == "America/New_York"
    assert "15 Jan 2026, 07:00" in panel
    assert "Settings saved." in client.get("/account/").content.decode()


def test_blank_returns_to_the_organizations_zone(client: Client, world: factories.World) -> None:
    User.objects.filter(pk=world.sam.pk).update(time_zone="Asia/Tokyo")
    client.force_login(world.sam)

    client.post("/account/", {"time_zone": ""})

    world.sam.refresh_from_db()
    assert world.sam.time_zone == ""


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "x" * 300])
def test_an_unknown_zone_is_refused_and_nothing_changes(
    client: Client, world: factories.World, zone: str
) -> None:
    client.force_login(world.sam)

    response = client.post("/account/", {"time_zone": zone})

    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    world.sam.refresh_from_db()
    assert world.sam.time_zone == ""


def test_a_password_change_keeps_the_member_signed_in(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.bob)

    response = client.post(
        "/account/password/",
        {
            "old_password": factories.PASSWORD,
            "new_password1": "a much better passphrase 42",
            "new_password2": "a much better passphrase 42",
        },
    )

    assert response.status_code == 302
    world.bob.refresh_from_db()
    assert world.bob.check_password("a much better passphrase 42")
    assert client.get("/account/").status_code == 200


def test_a_wrong_old_password_changes_nothing(client: Client, world: factories.World) -> None:
    client.force_login(world.bob)

    response = client.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "a much better passphrase 42",
            "new_password2": "a much better passphrase 42",
        },
    )

    assert response.status_code == 400
    assert "Your old password was entered incorrectly" in response.content.decode()
    world.bob.refresh_from_db()
    assert world.bob.check_password(factories.PASSWORD)


def test_the_account_page_needs_a_login(client: Client) -> None:
    response = client.get("/account/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]
