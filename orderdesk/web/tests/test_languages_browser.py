"""The orders table and panel in Finnish and Swedish, with that language's money and dates."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.orders.models import Order
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in, shop  # noqa: F401 - a fixture

# "149,00 €": a decimal comma and the euro sign after a (no-break) space.
EURO = re.compile(r"^\d[\d\u00a0 ]*,\d{2}[\u00a0 ]€$")


def test_a_member_who_chose_finnish_gets_the_orders_page_in_finnish(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    world.alice.language = "fi"
    world.alice.save(update_fields=["language"])
    page = browser_page
    log_in(page, live_server, world.alice)

    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.get_by_role("heading", name="Tilaukset", exact=True)).to_be_visible()
    headers = page.locator("table.orders-table thead th").evaluate_all(
        "ths => ths.map(th => th.textContent.trim())"
    )
    assert headers == [
        "Tila",
        "Luotu",
        "Asiakas",
        "Yhteensä",
        "Tuotteet",
        "Maksutapa",
        "Lähde",
        "Maa",
    ]
    anna = page.locator(f"#order-row-{shop['anna'].number}")
    assert EURO.match(anna.locator("td.num").inner_text().strip())
    # Finland's way: the time with a period ("14.05") when created today in the member's
    # zone, else the day and month ("5.12."). Anna is three hours old, so between midnight and
    # three in that zone she was created yesterday.
    zone = ZoneInfo(world.alice.time_zone or world.org.time_zone)
    today = (
        shop["anna"].created_at.astimezone(zone).date() == timezone.now().astimezone(zone).date()
    )
    shown = r"\d{1,2}\.\d{2}" if today else r"\d{1,2}\.\d{1,2}\.(\d{4})?"
    assert re.fullmatch(shown, anna.locator("td.created time").inner_text())
    expect(anna.locator(".badge.status-paid")).to_have_text("Maksettu")

    anna.locator("a.row-link").click()
    panel = page.locator("#panel .panel")
    expect(panel.get_by_role("heading", name=f"Tilaus #{shop['anna'].number}")).to_be_visible()
    expect(panel.get_by_role("heading", name="ALV", exact=True)).to_be_visible()
    created = panel.locator(".panel-sub time").inner_text()
    assert re.match(r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}\.\d{2}", created), created
    total = panel.locator("dl.facts strong").first.inner_text().strip()
    assert EURO.match(total), total


def test_the_language_menu_switches_to_swedish_and_remembers_it(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").select_option("sv")
    expect(page.get_by_role("heading", name="Beställningar", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    world.alice.refresh_from_db()
    assert world.alice.language == "sv"

    bert = page.locator(f"#order-row-{shop['bert'].number}")
    expect(bert.locator(".badge.status-refunded")).to_have_text("Återbetald")
    bert.locator("a.row-link").click()
    panel = page.locator("#panel .panel")
    expect(panel.get_by_role("heading", name=f"Beställning #{shop['bert'].number}")).to_be_visible()
    expect(panel.get_by_role("heading", name="Moms", exact=True)).to_be_visible()
    created = panel.locator(".panel-sub time").inner_text()
    # Finland-Swedish: "2 mars 2026 14.05".
    assert re.match(r"\d{1,2} [\w.]+ \d{4} \d{1,2}\.\d{2}", created), created
    assert EURO.match(panel.locator("dl.facts strong").first.inner_text().strip())

    # The choice is the member's: a new page load keeps it.
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_role("heading", name="Rapporter", exact=True)).to_be_visible()
