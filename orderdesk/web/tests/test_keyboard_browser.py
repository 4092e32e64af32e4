"""Keyboard first (issue 15, point 5) in real Chromium: one tab stop per row, j/k between rows,
Enter opens, Esc closes, / searches, ? lists the shortcuts in an accessible dialog."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from orderdesk.orders.models import Order
from orderdesk.testing import factories
from orderdesk.testing.accessibility import assert_accessible
from orderdesk.web.tests.test_orders_browser import log_in, shop  # noqa: F401 - a fixture

# What a Tab press can land on, as the browser decides it.
TAB_STOPS = """rows => rows.map(row => [...row.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex]'
  )].filter(el => el.tabIndex >= 0 && !el.disabled).length)"""


def _focused_order(page: Page) -> str | None:
    number: str | None = page.evaluate(
        "() => document.activeElement.closest('tr.order-row')?.dataset.number ?? null"
    )
    return number


def test_rows_have_one_tab_stop_and_j_k_enter_esc_move_open_and_close(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    cara, bert, anna = (str(shop[name].number) for name in ("cara", "bert", "anna"))
    log_in(page, live_server, world.alice)
    assert page.locator("tr.order-row").evaluate_all(TAB_STOPS) == [1, 1, 1]

    # Another feature (row selection) learns which row the keyboard is on.
    page.evaluate(
        """() => { window.rowEvents = [];
          document.addEventListener('orders:rowfocus', e => window.rowEvents.push(e.detail.number)); }"""
    )
    page.locator("main h1").click()
    page.keyboard.press("j")
    assert _focused_order(page) == cara
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    assert _focused_order(page) == anna
    page.keyboard.press("k")
    assert _focused_order(page) == bert
    expect(page.locator("tr.order-row[data-current]")).to_have_attribute("data-number", bert)
    assert page.evaluate("window.rowEvents") == [cara, bert, anna, bert]

    # Tab from a row goes to the next row's link: one stop per row.
    page.keyboard.press("Tab")
    assert _focused_order(page) == anna
    page.keyboard.press("Shift+Tab")
    assert _focused_order(page) == bert

    page.keyboard.press("Enter")
    panel = page.locator("#panel .panel")
    expect(panel).to_have_attribute("data-number", bert)
    expect(page.locator("#panel-title")).to_be_focused()

    # With the panel open, j and k show the next and previous order in it.
    page.keyboard.press("j")
    expect(panel).to_have_attribute("data-number", anna)
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(panel).to_have_attribute("data-number", cara)

    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(page.locator(f"#order-row-{cara} a.row-link")).to_be_focused()


def test_slash_searches_and_question_mark_lists_the_shortcuts(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.bob)
    page.locator("main h1").click()
    page.keyboard.press("/")
    search = page.get_by_label("Search")
    expect(search).to_be_focused()
    # Letters typed into a box are text, not shortcuts.
    page.keyboard.type("jk?")
    expect(search).to_have_value("jk?")
    expect(page.locator("#shortcuts-dialog")).not_to_be_visible()
    search.fill("")

    page.locator("main h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next order")
    assert_accessible(page, "keyboard shortcuts dialog", "#shortcuts-dialog")
    # j does nothing under the dialog; Escape closes it.
    page.keyboard.press("j")
    expect(page.locator("tr.order-row[data-current]")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()

    # The button opens the same list for those who do not know the key.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).not_to_be_visible()
