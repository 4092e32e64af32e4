"""Requires attention's reasons in real Chromium (issue 12): a reversed refund and a dispute
found on the tab by their badges and reason filter; staff restore the access the refund
removed from the panel, and the order leaves the tab."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes
from orderdesk.web.tests.test_attention_reasons import disputed, reversed_refund
from orderdesk.web.tests.test_orders_browser import log_in, rows

__all__ = ["fake", "fakes"]


def test_staff_find_a_reversed_refund_by_its_reason_and_restore_the_access(
    browser_page: Page, live_server: Any, world: factories.World, fake: FakeProvider
) -> None:
    order, _ = reversed_refund(world)
    dispute = disputed(world)
    page = browser_page
    log_in(page, live_server, world.alice)

    page.get_by_role("link", name=re.compile("Requires attention")).click()
    # The All tab shows the same badges: wait for the tab itself before filtering on it.
    expect(page).to_have_url(re.compile(r"tab=attention"))
    expect(page.locator(f"#order-row-{order.number} .attention-refund_reversed")).to_have_text(
        "Refund reversed by the provider"
    )
    expect(page.locator(f"#order-row-{dispute.number} .attention-dispute")).to_have_text(
        "Open dispute"
    )
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Requires attention for").select_option("refund_reversed")
    expect(page.locator("tr.order-row")).to_have_count(1)
    assert rows(page) == [str(order.number)]

    page.locator(f"#order-row-{order.number} a.row-link").click()
    panel = page.locator("#panel")
    expect(panel.locator(".reversal-entry")).to_contain_text("the customer did not get it")
    panel.get_by_role("button", name="Restore access").click()

    expect(panel.get_by_text("Access is being restored.")).to_be_visible()
    expect(panel.locator(".panel-sub .attention-refund_reversed")).to_have_count(0)
    expect(panel.get_by_role("button", name="Restore access")).to_have_count(0)
