"""Which language a page speaks, choosing it, and the CSV's column names."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from orderdesk.testing import factories


def test_the_browsers_language_is_used_until_the_member_chooses(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    page = client.get("/orders/", headers={"Accept-Language": "fi-FI,fi;q=0.9,en;q=0.5"})

    assert page["Content-Language"] == "fi"
    assert '<html lang="fi">' in page.content.decode()
    assert "<h1>Tilaukset</h1>" in page.content.decode()


def test_the_members_own_choice_wins_over_the_browser(
    client: Client, world: factories.World
) -> None:
    world.alice.language = "sv"
    world.alice.save(update_fields=["language"])
    client.force_login(world.alice)

    page = client.get("/orders/", headers={"Accept-Language": "fi"})

    assert page["Content-Language"] == "sv"
    assert "<h1>Beställningar</h1>" in page.content.decode()


def test_choosing_a_language_saves_it_sets_the_cookie_and_goes_back(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    response = client.post("/account/language/", {"language": "fi", "next": "/reports/?tab=sales"})

    assert response.status_code == 302
    assert response["Location"] == "/reports/?tab=sales"
    world.alice.refresh_from_db()
    assert world.alice.language == "fi"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fi"
    # Logged out, the login page still speaks it (Django's test client drops every cookie on
    # logout, a browser only the session's).
    visitor = Client()
    visitor.cookies[settings.LANGUAGE_COOKIE_NAME] = "fi"
    assert "Kirjaudu sisään" in visitor.get("/login/").content.decode()


def test_the_browsers_language_again_clears_the_choice_and_the_cookie(
    client: Client, world: factories.World
) -> None:
    world.alice.language = "sv"
    world.alice.save(update_fields=["language"])
    client.force_login(world.alice)

    response = client.post("/account/language/", {"language": "", "next": "/orders/"})

    world.alice.refresh_from_db()
    assert world.alice.language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    page = client.get("/orders/", headers={"Accept-Language": "en"})
    assert "<h1>Orders</h1>" in page.content.decode()


@pytest.mark.parametrize("language", ["de", "x" * 200, "<script>"])
def test_an_unknown_language_is_a_400_and_nothing_changes(
    client: Client, world: factories.World, language: str
) -> None:
    client.force_login(world.alice)

    response = client.post("/account/language/", {"language": language})

    assert response.status_code == 400
    world.alice.refresh_from_db()
    assert world.alice.language == ""


def test_it_goes_back_only_to_this_site(client: Client, world: factories.World) -> None:
    client.force_login(world.alice)

    response = client.post(
        "/account/language/", {"language": "fi", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_choosing_needs_a_signed_in_member_and_a_post(
    client: Client, world: factories.World
) -> None:
    assert client.post("/account/language/", {"language": "fi"}).status_code == 302
    client.force_login(world.alice)
    assert client.get("/account/language/").status_code == 405


def test_the_api_answers_in_english_whatever_the_browser_says(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    response = client.get("/api/v1/orders", headers={"Accept-Language": "fi"})

    assert response["Content-Language"] == "en"


def _header(response: object) -> list[str]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return next(csv.reader(io.StringIO(body)))


def test_the_csv_keeps_english_column_names_unless_asked_for_the_members_language(
    client: Client, world: factories.World
) -> None:
    factories.order(world)
    world.alice.language = "fi"
    world.alice.save(update_fields=["language"])
    client.force_login(world.alice)

    plain = client.get("/orders/export.csv")
    local = client.get("/orders/export.csv?headers=local")
    report = client.get("/reports/export.csv?period=all_time&headers=local")

    assert _header(plain)[:4] == ["Order number", "Created", "Paid", "Status"]
    assert _header(local)[:4] == ["Tilausnumero", "Luotu", "Maksettu", "Tila"]
    assert _header(report)[:4] == ["Tilausnumero", "Luotu", "Maksettu", "Tila"]
    page = client.get("/orders/").content.decode()
    assert 'id="orders-export-local"' in page


def test_the_account_page_saves_the_language_with_the_time_zone(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    response = client.post("/account/", {"language": "sv", "time_zone": "Europe/Stockholm"})

    assert response.status_code == 302
    world.alice.refresh_from_db()
    assert (world.alice.language, world.alice.time_zone) == ("sv", "Europe/Stockholm")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "sv"
    page = client.get("/account/").content.decode()
    assert "Inställningarna sparade." in page
    assert '<option value="sv" lang="sv" selected>svenska</option>' in page


def test_the_account_page_refuses_an_unknown_language(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    response = client.post("/account/", {"language": "klingon", "time_zone": ""})

    assert response.status_code == 400
    assert "Choose a language from the list." in response.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.language == ""


def test_the_language_ends_with_the_request(client: Client, world: factories.World) -> None:
    """What runs next in the thread (another request, a task) starts in the default."""
    client.force_login(world.alice)

    client.get("/orders/", headers={"Accept-Language": "fi"})

    assert translation.get_language() == settings.LANGUAGE_CODE
