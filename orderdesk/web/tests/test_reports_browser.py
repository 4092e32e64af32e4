from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orderdesk.orders.events import Actor
from orderdesk.orders.models import DeviceType
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.testing import factories

# Wednesday 14 October 2026, noon in Helsinki (the organization's time zone). The periods
# ("last 30 days", "this year") are counted back from today, so the test fixes today: on a
# real clock an order 200 days old fell out of "this year" in January and into it in late July.
# The clock ticks on from here: the live server and Chromium need time to pass.
NOW = dt.datetime.fromisoformat("2026-10-14T12:00:00+03:00")


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


@pytest.mark.time_machine(NOW, tick=True)
def test_it_changes_period_and_currency_switches_tabs_and_downloads_the_csv(
    live_server: Any, browser_page: Page
) -> None:
    world = factories.world()
    factories.order(
        world,
        created_at=at("2026-10-14T10:00:00+03:00"),  # today
        add_ons=(world.bump,),
        analytics_consent=True,
    )
    factories.order(
        world,
        created_at=at("2026-10-11T10:00:00+03:00"),  # three days ago
        currency="SEK",
        country="SE",
        device_type=DeviceType.MOBILE,
    )
    # This year, but not in the last 30 days; and the last minutes of last year.
    factories.order(world, created_at=at("2026-03-28T10:00:00+02:00"), email="march@example.com")
    factories.order(world, created_at=at("2025-12-31T23:30:00+02:00"), email="2025@example.com")
    page = browser_page

    page.goto(f"{live_server.url}/reports/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/reports/")

    # The default period, the last 30 days: today's and the SEK order, kept apart.
    revenue = page.locator(".metric:has(h2:text-is('Revenue'))")
    orders_card = page.locator(".metric:has(h2:text-is('Orders'))")
    expect(revenue.locator(".metric-value")).to_contain_text("€88.00")
    expect(revenue.locator(".metric-value")).to_contain_text("SEK1,099.00")
    expect(orders_card.locator(".metric-value")).to_have_text("2")

    page.select_option("#period", "this_year")
    expect(page).to_have_url(re.compile(r"period=this_year"))
    expect(orders_card.locator(".metric-value")).to_have_text("3")

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
    assert {r["Customer email"] for r in rows} == {"customer@example.com"}


@pytest.mark.time_machine(NOW, tick=True)
def test_customer_service_reads_vat_per_rate_and_downloads_it(
    live_server: Any, browser_page: Page
) -> None:
    """The VAT tab after a sale at 25.5 % and 14 % and a refund of the 14 % bump today."""
    world = factories.world()
    order = factories.order(
        world, created_at=at("2026-10-14T10:00:00+03:00"), add_ons=(world.bump,)
    )
    bump = order.lines.get(product=world.workbook)
    refund_order(
        order,
        RefundRequest(amounts={bump.pk: bump.total_minor}, via_provider=False),
        actor=Actor.of_user(world.sam),
        idempotency_key="vat-browser",
    )
    page = browser_page
    page.goto(f"{live_server.url}/reports/?period=today")
    page.fill("input[name=username]", world.sam.email)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/reports/**")

    page.click(".tab:text-is('VAT')")
    expect(page.locator(".tab[aria-current=page]")).to_have_text("VAT")
    table = page.locator("table.vat-table[data-currency=EUR]")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("25.5 %")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("€16.05")  # sales VAT
    expect(rows.nth(1)).to_contain_text("14 %")
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("€1.11")  # refunds VAT
    expect(rows.nth(1).locator("td").nth(7)).to_have_text("€0.00")  # net VAT
    expect(table.locator("tfoot")).to_contain_text("€17.16")
    assert "tab=vat" in page.url

    with page.expect_download() as download_info:
        page.click("#export-vat-csv")
    with open(download_info.value.path(), encoding="utf-8") as f:
        vat_rows = list(csv.DictReader(f))
    assert [(r["VAT rate"], r["Sales VAT"], r["Refunds VAT"]) for r in vat_rows] == [
        ("25.5", "16.05", "0.00"),
        ("14", "1.11", "1.11"),
    ]
