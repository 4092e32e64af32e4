from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.orders.models import DeviceType
from orderdesk.testing import factories


def test_it_changes_period_and_currency_switches_tabs_and_downloads_the_csv(
    live_server: Any, browser_page: Page
) -> None:
    world = factories.world()
    now = timezone.now()
    factories.order(
        world, created_at=now - dt.timedelta(hours=2), add_ons=(world.bump,), analytics_consent=True
    )
    factories.order(
        world,
        created_at=now - dt.timedelta(days=3),
        currency="SEK",
        country="SE",
        device_type=DeviceType.MOBILE,
    )
    factories.order(world, created_at=now - dt.timedelta(days=200), email="long-ago@example.com")
    page = browser_page

    page.goto(f"{live_server.url}/reports/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/reports/")

    revenue = page.locator(".metric:has(h2:text-is('Revenue'))")
    expect(revenue.locator(".metric-value")).to_contain_text("€88.00")
    expect(revenue.locator(".metric-value")).to_contain_text("SEK1,099.00")

    page.select_option("#period", "this_year")
    expect(page).to_have_url(re.compile(r"period=this_year"))
    orders_card = page.locator(".metric:has(h2:text-is('Orders'))")
    expect(orders_card.locator(".metric-value")).to_have_text("3" if now.month > 7 else "2")

    page.select_option("#period", "last_7_days")
    page.select_option("#currency", "EUR")
    expect(page.locator("#rates-used")).to_contain_text("SEK")
    expect(revenue.locator(".metric-value")).not_to_contain_text("SEK")

    page.click("text=Products & add-on sales")
    expect(page.locator(".tab[aria-current=page]")).to_have_text("Products & add-on sales")
    expect(page.locator("#report")).to_contain_text("Workbook PDF")
    page.click("text=International")
    expect(page.locator("#report")).to_contain_text("Sweden")
    page.click("text=Analytics")
    expect(page.locator("#report svg.chart").first).to_be_visible()
    assert "tab=analytics" in page.url
    assert "currency=EUR" in page.url

    with page.expect_download() as download_info:
        page.click("#export-csv")
    path = download_info.value.path()
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert {r["Currency"] for r in rows} == {"EUR", "SEK"}
    assert "long-ago@example.com" not in {r["Customer email"] for r in rows}
