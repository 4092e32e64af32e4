"""A phone (390 × 844) in real Chromium: no sideways scroll, the table as cards, the panel and
both dialogs inside the screen (issue 17, point 5)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, ViewportSize, expect

from orderdesk.orders.models import Order
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in, shop  # noqa: F401 - a fixture
from orderdesk.web.tests.test_refund_access_and_completion_browser import grant_course

PHONE: ViewportSize = {"width": 390, "height": 844}


def page_width(page: Page) -> int:
    width: int = page.evaluate("document.scrollingElement.scrollWidth")
    return width


def assert_no_sideways_scroll(page: Page) -> None:
    assert page_width(page) <= PHONE["width"], page.url


def assert_on_screen(box_of: Locator, what: str) -> None:
    """The element's whole box lies inside the viewport: nothing cut off on either side."""
    box = box_of.bounding_box()
    assert box is not None, what
    assert box["x"] >= 0, (what, box)
    assert box["y"] >= 0, (what, box)
    assert box["x"] + box["width"] <= PHONE["width"], (what, box)
    assert box["y"] + box["height"] <= PHONE["height"], (what, box)


def test_the_orders_page_panel_and_dialogs_fit_a_phone(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    grant_course(world, shop["anna"])
    log_in(page, live_server, world.sam)
    assert_no_sideways_scroll(page)

    # Cards: each row shows status, created, customer, total and products, side by side with
    # nothing past the right edge; the column headers are for screen readers only.
    anna = page.locator(f"#order-row-{shop['anna'].number}")
    header = page.locator("table.orders-table thead").bounding_box()
    assert header is not None
    assert header["width"] <= 1, header
    # The status badge; a Requires attention reason may sit beside it and must fit too.
    for cell in (
        "td:nth-child(1) .badge:not(.attention-reason)",
        "td.created time",
        "td.customer a.row-link",
    ):
        expect(anna.locator(cell)).to_be_visible()
        assert_on_screen(anna.locator(cell), cell)
    for reason in anna.locator("td:nth-child(1) .attention-reason").all():
        assert_on_screen(reason, "attention reason")
    for cell in ("td.num", "td.products"):
        expect(anna.locator(cell)).to_be_visible()
        assert_on_screen(anna.locator(cell), cell)
    expect(anna.locator("td.products")).to_contain_text("Photography Masterclass")
    assert_on_screen(anna, "the card")

    anna.locator("a.row-link").click()
    panel = page.locator("#panel .panel")
    expect(panel.get_by_role("heading", name=f"Order #{shop['anna'].number}")).to_be_focused()
    assert_on_screen(panel, "the panel")
    assert_no_sideways_scroll(page)
    # Nothing inside the panel runs past its right edge either (tables, references, buttons).
    overflowing = page.evaluate(
        """() => {
          const panel = document.querySelector('#panel .panel');
          const right = panel.getBoundingClientRect().right;
          return [...panel.querySelectorAll('*')]
            .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > right + 0.5)
            .map(el => el.tagName + '.' + el.className);
        }"""
    )
    assert overflowing == []

    panel.get_by_role("button", name="Mark as Completed").click()
    confirm = page.locator("#mark-completed-dialog")
    expect(confirm).to_be_visible()
    assert_on_screen(confirm, "the completion dialog")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()

    panel.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.locator("dialog[data-refund-dialog]:modal")
    expect(dialog).to_be_visible()
    assert_on_screen(dialog, "the refund dialog")
    title = dialog.get_by_role("heading", name=f"Refund order #{shop['anna'].number}")
    assert_on_screen(title, "the refund dialog's title")
    course = dialog.get_by_label("Refund amount for Photography Masterclass")
    course.fill("79")
    # Everything in the dialog is reachable by scrolling it, and nothing lies left or right
    # of the screen: the product names, the amounts and the checkbox labels.
    names = dialog.locator("tr[data-refund-row] td:first-child")
    expect(names).to_have_count(2)
    targets = [
        (names.nth(0), "Photography Masterclass"),
        (names.nth(1), "Workbook PDF"),
        (course, "the course's amount"),
        (dialog.locator("label", has_text="Remove access").first, "Remove access"),
        (dialog.locator("label", has_text="Refund payments"), "Refund payments"),
        (dialog.get_by_role("button", name="Refund", exact=True), "the Refund button"),
    ]
    for target, what in targets:
        target.scroll_into_view_if_needed()
        expect(target).to_be_visible()
        box = target.bounding_box()
        assert box is not None, what
        assert box["x"] >= 0, (what, box)
        assert box["x"] + box["width"] <= PHONE["width"], (what, box)
    assert_no_sideways_scroll(page)


def test_reports_customer_and_account_pages_fit_a_phone(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server, world.alice)
    for path in (
        "/reports/?period=last_7_days",
        "/reports/?period=last_7_days&tab=products",
        "/reports/?period=last_7_days&tab=international",
        "/reports/?period=last_7_days&tab=analytics",
        "/customers/?email=anna%40example.com",
        "/account/",
        "/no-such-page/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main h1").first).to_be_visible()
        assert_no_sideways_scroll(page)
