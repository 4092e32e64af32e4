"""A table that updates itself (issue 15, point 4), in real Chromium with a one-second poll:
new orders are offered by a bar, a changed row is swapped in place, an open panel follows its
order (and waits while someone types in it), and the attention counter follows on any page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django import Settings

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, record_event
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in, rows, shop  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def _fast_polls(settings: Settings) -> None:
    settings.LIVE_POLL_SECONDS = 1


def test_a_new_order_appears_and_a_changed_row_updates_in_place(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    page.evaluate("window.__sameDocument = true")
    before = rows(page)
    bert_row = page.locator(f"#order-row-{shop['bert'].number}")
    page.locator(f"#order-row-{shop['cara'].number} a.row-link").focus()

    # Another member's customer opens the checkout: the bar offers the new order.
    new = factories.order(world, email="dana@example.com", status=OrderStatus.STARTED)
    bar = page.locator("#live-new-orders")
    expect(bar).to_have_text("1 new order: show it")
    assert rows(page) == before  # nothing moved under the pointer
    # The row of an order that changed is redrawn where it is, keeping the focus.
    cara = shop["cara"]
    transitions.mark_completed(cara, actor=Actor.of_user(world.sam))
    expect(page.locator(f"#order-row-{cara.number} .badge").first).to_have_text(
        "Marked as Completed"
    )
    assert rows(page) == before
    expect(page.locator(f"#order-row-{cara.number} a.row-link")).to_be_focused()
    expect(bert_row).to_contain_text("Refunded")

    bar.click()
    expect(page.locator("tr.order-row").first).to_have_attribute("data-number", str(new.number))
    expect(bar).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_an_open_panel_follows_its_order_but_not_while_a_note_is_typed(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    anna = shop["anna"]
    log_in(page, live_server, world.alice)
    page.goto(f"{live_server.url}/orders/{anna.number}/")
    panel = page.locator("#panel .panel")
    expect(panel).to_be_visible()

    # A pending action finishes: the worker's run writes the timeline, the panel follows.
    record_event(
        anna, type="action_succeeded", message="Grant Kajabi offer succeeded", actor=Actor.system()
    )
    expect(panel.locator("#panel-timeline")).to_contain_text("Grant Kajabi offer succeeded")
    expect(page.locator("#panel-title")).not_to_be_focused()

    # While a note is being written, the panel waits; then it follows.
    page.get_by_label("Internal note").fill("Half a thought")
    record_event(anna, type="note", message="Called the customer", actor=Actor.of_user(world.sam))
    page.wait_for_timeout(2500)
    expect(panel.locator("#panel-timeline")).not_to_contain_text("Called the customer")
    expect(page.get_by_label("Internal note")).to_have_value("Half a thought")
    page.locator("#panel-title").focus()
    expect(panel.locator("#panel-timeline")).to_contain_text("Called the customer")


def test_the_attention_counter_follows_on_every_page(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.alice)
    page.goto(f"{live_server.url}/reports/")
    counter = page.locator("#nav-attention-count")
    expect(counter).to_contain_text("1")
    late = timezone.now() - dt.timedelta(hours=1)
    factories.order(
        world, email="late@example.com", action_health=ActionHealth.FAILED, created_at=late
    )
    Order.objects.filter(customer_email="late@example.com").update(paid_at=late)
    expect(counter).to_contain_text(re.compile(r"^2"))
