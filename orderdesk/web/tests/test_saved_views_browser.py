"""Saved views in real Chromium (issue 15, point 3): a member saves the filters shown as a
shared default view, Orders opens with it, a viewer uses it and keeps a personal view."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from orderdesk.orders.models import Order, SavedView
from orderdesk.testing import factories
from orderdesk.testing.accessibility import assert_accessible
from orderdesk.web.tests.test_orders_browser import log_in, rows, shop  # noqa: F401 - a fixture


def test_saving_sharing_and_opening_a_default_view(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.sam)
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Status").select_option("refunded")
    expect(page.locator("tr.order-row")).to_have_count(1)

    page.get_by_role("button", name="Save view…").click()
    dialog = page.get_by_role("dialog", name="Save view")
    expect(dialog).to_be_visible()
    assert_accessible(page, "save view dialog", "#save-view-dialog")
    dialog.get_by_label("Name").fill("Refunds")
    dialog.get_by_label("Share with the checkout's team").check()
    dialog.get_by_label("Open Orders with this view").check()
    dialog.get_by_role("button", name="Save view").click()

    view = SavedView.objects.get()
    expect(page).to_have_url(re.compile(rf"status=refunded&view={view.pk}$"))
    tab = page.locator(f'a.tab-view[data-view="{view.pk}"]')
    expect(tab).to_have_attribute("aria-current", "page")
    expect(tab).to_contain_text("Refunds")
    assert rows(page) == [str(shop["bert"].number)]
    assert_accessible(page, "orders with a saved view")

    # "All" shows every order; the Orders link opens the default view again.
    page.get_by_role("link", name="All", exact=True).click()
    expect(page.locator("tr.order-row")).to_have_count(3)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("Orders")
    ).click()
    expect(page).to_have_url(re.compile(rf"view={view.pk}$"))
    expect(page.locator("tr.order-row")).to_have_count(1)

    # A viewer sees the team's view and keeps a view of their own, which only they see.
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, world.bob)
    page.locator(f'a.tab-view[data-view="{view.pk}"]').click()
    expect(page.locator("tr.order-row")).to_have_count(1)
    expect(page.get_by_role("button", name="Edit view…")).to_have_count(0)
    page.get_by_role("link", name="All", exact=True).click()
    expect(page.locator("tr.order-row")).to_have_count(3)
    # The filters form shows what the table shows: no filter of the view left behind.
    expect(page.get_by_label("Status")).to_have_value("")
    page.get_by_role("button", name="Save view…").click()
    dialog = page.get_by_role("dialog", name="Save view")
    expect(dialog.get_by_label("Share with the checkout's team")).to_have_count(0)
    dialog.get_by_label("Name").fill("Everything")
    dialog.get_by_role("button", name="Save view").click()
    expect(page.locator("a.tab-view")).to_have_text(
        [re.compile("Everything"), re.compile("Refunds")]
    )
    mine = SavedView.objects.get(name="Everything")
    assert (mine.owner, mine.shared) == (world.bob, False)

    # Editing: the owner renames their own view from its dialog.
    page.get_by_role("button", name="Edit view…").click()
    edit = page.get_by_role("dialog", name="Edit view")
    assert_accessible(page, "edit view dialog", "#edit-view-dialog")
    edit.get_by_label("Name").fill("All of it")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.locator(f'a.tab-view[data-view="{mine.pk}"]')).to_contain_text("All of it")
