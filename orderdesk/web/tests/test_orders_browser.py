"""Order Management in real Chromium: what a support agent does all day."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.orders.events import Actor, record_event
from orderdesk.orders.models import ActionHealth, Order, OrderStatus, OrderTag
from orderdesk.organizations.models import User
from orderdesk.testing import factories

COLUMNS = [
    "Status",
    "Created",
    "Customer",
    "Total",
    "Products",
    "Payment Method",
    "Source",
    "Country",
]


def log_in(page: Page, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/orders/$"))


def rows(page: Page) -> list[str]:
    numbers: list[str] = page.locator("tr.order-row").evaluate_all(
        "rows => rows.map(r => r.dataset.number)"
    )
    return numbers


@pytest.fixture
def shop(world: factories.World) -> dict[str, Order]:
    old = timezone.now() - dt.timedelta(hours=3)
    anna = factories.order(
        world,
        email="anna@example.com",
        first_name="Anna",
        last_name="Virtanen",
        created_at=old,
        action_health=ActionHealth.FAILED,
        add_ons=(world.bump,),
    )
    ActionSnapshot.objects.create(
        order=anna,
        level="offer",
        kind="kajabi_grant",
        name="Grant Kajabi offer",
        status=SnapshotStatus.FAILED,
        attempts=2,
        last_error="Kajabi answered 502",
    )
    record_event(
        anna, type="note", message="Customer called about access", actor=Actor.of_user(world.alice)
    )
    bert = factories.order(
        world,
        email="bert@shop.fi",
        first_name="Bert",
        last_name="Korhonen",
        status=OrderStatus.REFUNDED,
        created_at=old + dt.timedelta(minutes=5),
        country="SE",
    )
    OrderTag.objects.create(
        order=bert, checkout=world.checkout, tag="vip", created_at=bert.created_at
    )
    Order.objects.filter(pk=bert.pk).update(tags=["black-friday", "ads", "vip"])
    cara = factories.order(
        world, email="cara@example.com", created_at=old + dt.timedelta(minutes=10)
    )
    return {"anna": anna, "bert": bert, "cara": cara}


def test_it_logs_in_and_shows_the_table(
    browser_page: Page, live_server: Any, world: factories.World, shop: dict[str, Order]
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    assert (
        page.locator("table.orders-table thead th").evaluate_all(
            "ths => ths.map(th => th.textContent.trim())"
        )
        == COLUMNS
    )
    assert rows(page) == [
        str(shop["cara"].number),
        str(shop["bert"].number),
        str(shop["anna"].number),
    ]

    # Hovering Created reveals the exact time in the organization's time zone.
    row = page.locator(f"#order-row-{shop['anna'].number}")
    tooltip = row.locator(".tooltip")
    expect(tooltip).to_be_hidden()
    row.locator("td.created time").hover()
    expect(tooltip).to_be_visible()
    local = timezone.localtime(shop["anna"].created_at, ZoneInfo("Europe/Helsinki"))
    expect(tooltip).to_have_text(f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (Europe/Helsinki)")


def test_it_filters_without_reloading_and_the_back_button_restores(
    browser_page: Page, live_server: Any, world: factories.World, shop: dict[str, Order]
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    page.evaluate("window.__sameDocument = true")
    page.locator("summary", has_text="Filters").click()

    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Email").press("Enter")
    expect(page).to_have_url(re.compile(r"email=anna%40example.com"))
    expect(page.locator("tr.order-row")).to_have_count(1)
    assert rows(page) == [str(shop["anna"].number)]
    # Only the filters in use: no "q=&number=&first_name=&…" in the address.
    assert urlsplit(page.url).query == "email=anna%40example.com"

    page.get_by_label("Email").fill("")
    page.get_by_label("Tag").fill("vip")
    page.get_by_label("Tag").press("Enter")
    expect(page).to_have_url(re.compile(r"tag=vip"))
    expect(page.locator("tr.order-row")).to_have_count(1)
    assert rows(page) == [str(shop["bert"].number)]

    page.get_by_label("Tag").fill("black-friday")
    page.get_by_label("Status").select_option("paid")
    expect(page).to_have_url(re.compile(r"status=paid"))
    expect(page.locator("tr.order-row")).to_have_count(2)
    assert rows(page) == [str(shop["cara"].number), str(shop["anna"].number)]
    assert urlsplit(page.url).query == "status=paid&tag=black-friday"
    assert page.evaluate("window.__sameDocument") is True  # no full page load

    page.go_back()
    expect(page).to_have_url(re.compile(r"tag=vip$|tag=vip&"))
    expect(page.locator("tr.order-row")).to_have_count(1)
    expect(page.get_by_label("Tag")).to_have_value("vip")
    expect(page.get_by_label("Status")).to_have_value("")

    # A bad value gets a message next to its field, not a 500.
    page.get_by_label("Order number").fill("12ab")
    page.get_by_label("Order number").press("Enter")
    expect(page.locator("#filter-error-number")).to_have_text(re.compile("digits only"))
    expect(page.get_by_label("Order number")).to_have_attribute("aria-invalid", "true")


def test_it_shows_the_requires_attention_tab_with_its_counter(
    browser_page: Page, live_server: Any, world: factories.World, shop: dict[str, Order]
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    expect(page.locator("#nav-attention-count")).to_contain_text("1")
    expect(page.locator("#tab-attention-count")).to_have_text("1")
    page.get_by_role("link", name=re.compile("Requires attention")).click()
    expect(page).to_have_url(re.compile(r"tab=attention"))
    expect(page.locator("tr.order-row")).to_have_count(1)
    assert rows(page) == [str(shop["anna"].number)]
    expect(page.get_by_role("link", name=re.compile("Requires attention"))).to_have_attribute(
        "aria-current", "page"
    )


def test_it_opens_the_panel_by_click_and_deep_link_and_closes_it_with_escape(
    browser_page: Page, live_server: Any, world: factories.World, shop: dict[str, Order]
) -> None:
    page = browser_page
    anna = shop["anna"]
    log_in(page, live_server, world.alice)
    page.locator(f"#order-row-{anna.number} td.products").click()
    dialog = page.get_by_role("dialog", name=f"Order #{anna.number}")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/orders/{anna.number}/"))
    expect(page.locator("#panel-title")).to_be_focused()
    expect(page.locator("table.orders-table")).to_be_visible()  # the table stays

    for section in ("General", "Customer", "Payments", "Post-Purchase Actions", "Timeline"):
        expect(dialog.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(dialog.locator("#panel-general")).to_contain_text("Masterclass launch")
    expect(dialog.locator("#panel-general")).to_contain_text("Workbook PDF")
    expect(dialog.locator("#panel-general")).to_contain_text("€88.00")
    expect(dialog.locator("#panel-customer")).to_contain_text("anna@example.com")
    expect(dialog.locator("#panel-customer")).to_contain_text("Virtanen")
    expect(dialog.locator("#panel-payments")).to_contain_text("Stripe")
    expect(dialog.locator("#panel-actions")).to_contain_text("Kajabi answered 502")
    expect(dialog.locator("#panel-timeline")).to_contain_text("Customer called about access")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/orders/\?$|/orders/$"))
    expect(page.locator(f'a.row-link[data-order="{anna.number}"]')).to_be_focused()

    page.goto(f"{live_server.url}/orders/{shop['bert'].number}/")
    dialog = page.get_by_role("dialog", name=f"Order #{shop['bert'].number}")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#panel-customer")).to_contain_text("Sweden")
    expect(page.locator("tr.order-row")).to_have_count(3)
    page.get_by_role("link", name="Close order details").click()
    expect(dialog).to_be_hidden()


def test_a_viewer_sees_no_action_buttons(
    browser_page: Page, live_server: Any, world: factories.World, shop: dict[str, Order]
) -> None:
    page = browser_page
    log_in(page, live_server, world.bob)
    expect(page.locator(".role-badge")).to_have_text("Viewer")
    page.goto(f"{live_server.url}/orders/{shop['anna'].number}/")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator(".panel-buttons")).to_have_count(0)
    expect(page.locator(".action-buttons")).to_have_count(0)
    expect(page.get_by_role("dialog").get_by_role("button")).to_have_count(0)
