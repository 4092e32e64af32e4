"""The pages work under the Content-Security-Policy in real Chromium: the orders page, the side
panel, the Mark as Completed and Refund dialogs and the reports, with no violation reported."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import ConsoleMessage, Page, expect

from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in

# Chromium reports each refused inline script, handler or style as an event and on the console.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective}: ${event.blockedURI} ${event.sample}`);
});
"""


def test_the_staff_pages_work_without_a_policy_violation(
    transactional_db: None, live_server: Any, browser_page: Page
) -> None:
    world = factories.world()
    order = factories.order(world)
    factories.failed_kajabi_action(world, order)
    page = browser_page
    console: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            console.append(message.text)

    page.on("console", note)
    page.add_init_script(RECORD_VIOLATIONS)
    violations: list[str] = []

    def collect() -> None:
        violations.extend(page.evaluate("window.__violations"))

    log_in(page, live_server, world.sam)
    page.locator(f"#order-row-{order.number} a.row-link").click()
    panel = page.locator(".panel")
    expect(panel).to_contain_text(f"#{order.number}")

    page.locator("#mark-completed-button").click()
    dialog = page.locator("#mark-completed-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    panel.get_by_role("button", name="Refund", exact=True).click()
    refund = page.locator("dialog[data-refund-dialog]:modal")
    expect(refund).to_be_visible()
    refund.get_by_role("button", name="Cancel").click()
    expect(refund).to_be_hidden()
    collect()

    page.goto(f"{live_server.url}/reports/?tab=products")
    expect(page.locator("#report")).to_contain_text("Photography Masterclass")
    page.click("text=Analytics")
    expect(page.locator("#report svg.chart").first).to_be_visible()
    collect()

    assert violations == []
    assert console == []
