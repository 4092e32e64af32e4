"""axe-core on every page and dialog, in English and Finnish, and the dialogs' keyboard rules
(issue 17, point 4): no serious or critical violation; Tab stays inside a modal dialog and
Escape closes it and gives focus back to the button that opened it.

One login per test walks many pages, so the checks add seconds, not minutes, to the suite.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Locator, Page, expect

from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.orders.models import Order
from orderdesk.testing import factories
from orderdesk.testing.accessibility import assert_accessible, violations
from orderdesk.web.tests.test_orders_browser import log_in, shop  # noqa: F401 - a fixture
from orderdesk.web.tests.test_refund_access_and_completion_browser import grant_course

REPORT_TABS = ("sales", "products", "international", "analytics")


def test_the_check_finds_what_it_should(browser_page: Page, live_server: Any, db: None) -> None:
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    # A button without a name and grey text nobody can read: both serious or worse.
    page.evaluate(
        """() => {
          document.querySelector('main').append(document.createElement('button'));
          const faint = document.createElement('p');
          faint.textContent = 'Hard to read';
          faint.style.color = '#ddd';
          document.querySelector('main').append(faint);
        }"""
    )
    found = {v["id"] for v in violations(page)}
    assert {"button-name", "color-contrast"} <= found


def test_the_signed_out_pages_have_no_serious_violation(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    page = browser_page
    uid = urlsafe_base64_encode(force_bytes(world.alice.pk))
    token = default_token_generator.make_token(world.alice)
    for path, what in (
        ("/login/", "login"),
        ("/password-reset/", "password reset"),
        ("/password-reset/sent/", "password reset sent"),
        (f"/password-reset/{uid}/{token}/", "choosing a new password"),
        ("/no-such-page/", "404 signed out"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, what)


def test_every_signed_in_page_and_dialog_has_no_serious_violation(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    grant_course(world, shop["anna"])
    log_in(page, live_server, world.sam)
    page.locator("summary", has_text="Filters").click()
    assert_accessible(page, "orders table with filters open")
    page.get_by_role("link", name="Requires attention").click()
    expect(page.locator("tr.order-row")).to_have_count(1)
    assert_accessible(page, "requires attention tab")

    email_action(shop["anna"])
    page.goto(f"{live_server.url}/orders/{shop['anna'].number}/")
    panel = page.locator("#panel .panel")
    expect(panel).to_be_visible()
    assert_accessible(page, "order panel")

    for opener, dialog_id in (
        ("Change email", "#change-email-dialog"),
        ("Resend email…", "dialog[id^=resend-dialog-]"),
    ):
        panel.get_by_role("button", name=opener, exact=True).click()
        expect(page.locator(dialog_id)).to_be_visible()
        assert_accessible(page, f"{opener} dialog", dialog_id)
        page.keyboard.press("Escape")
        expect(page.locator(dialog_id)).to_be_hidden()

    panel.get_by_role("button", name="Mark as Completed").click()
    expect(page.locator("#mark-completed-dialog")).to_be_visible()
    assert_accessible(page, "completion dialog", "#mark-completed-dialog")
    page.keyboard.press("Escape")

    panel.get_by_role("button", name="Refund", exact=True).click()
    dialog = page.locator("dialog[data-refund-dialog]:modal")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Refund amount for Photography Masterclass").fill("79")
    assert_accessible(page, "refund dialog", "dialog[data-refund-dialog]")
    # Its answer to a bad amount: the messages and the fields marked invalid.
    dialog.get_by_label("Refund amount for Photography Masterclass").fill("1000")
    dialog.get_by_role("button", name="Refund", exact=True).click()
    expect(dialog.get_by_label("Refund amount for Photography Masterclass")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(page, "refund dialog with errors", "dialog[data-refund-dialog]")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # An order whose checkout sends no receipt: the Send receipt dialog, loaded on demand.
    page.goto(f"{live_server.url}/orders/{shop['cara'].number}/")
    page.locator("#panel .panel").get_by_role("button", name="Send receipt…").click()
    receipt = page.locator("#receipt-dialog")
    expect(receipt).to_be_visible()
    assert_accessible(page, "Send receipt dialog", "#receipt-dialog")
    page.keyboard.press("Escape")
    expect(receipt).to_be_hidden()

    for tab in REPORT_TABS:
        page.goto(f"{live_server.url}/reports/?period=last_7_days&tab={tab}")
        assert_accessible(page, f"reports, {tab}")
    for path, what in (
        ("/customers/?email=anna%40example.com", "customer page"),
        ("/account/", "account page"),
        ("/account/two-factor/", "setting up two-factor authentication"),
        ("/customers/erase/?email=anna%40example.com", "erasing a customer's data"),
        ("/orders/987654/", "404 signed in"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page, what)


def test_a_viewer_and_a_finnish_member_get_accessible_pages(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.bob)
    assert_accessible(page, "orders table, read only")
    page.goto(f"{live_server.url}/orders/{shop['bert'].number}/refund/")
    assert_accessible(page, "403 for a viewer")

    world.alice.language = "fi"
    world.alice.save(update_fields=["language"])
    page.context.clear_cookies()
    log_in(page, live_server, world.alice)
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    assert_accessible(page, "orders table in Finnish")
    page.locator(f"#order-row-{shop['anna'].number} a.row-link").click()
    expect(page.locator("#panel .panel")).to_be_visible()
    assert_accessible(page, "order panel in Finnish")
    page.goto(f"{live_server.url}/reports/?period=last_7_days")
    assert_accessible(page, "reports in Finnish")


def _tabbables(dialog: Locator) -> Locator:
    return dialog.locator(
        "button:not([disabled]):visible, input:not([type=hidden]):not([disabled]):visible,"
        " textarea:visible, select:visible, a[href]:visible"
    )


def _focus_stays_inside(page: Page, dialog: Locator, opener: Locator) -> None:
    controls = _tabbables(dialog)
    first, last = controls.first, controls.last
    last.focus()
    page.keyboard.press("Tab")
    expect(first).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(last).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_dialogs_keep_focus_inside_and_escape_returns_it_to_the_opener(
    browser_page: Page,
    live_server: Any,
    world: factories.World,
    shop: dict[str, Order],  # noqa: F811
) -> None:
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/{shop['anna'].number}/")
    panel = page.locator("#panel .panel")

    complete = panel.get_by_role("button", name="Mark as Completed")
    complete.click()
    confirm = page.locator("#mark-completed-dialog")
    expect(confirm).to_be_visible()
    _focus_stays_inside(page, confirm, complete)
    # The side panel stays open under it: Escape closed the dialog only.
    expect(panel).to_be_visible()

    refund = panel.get_by_role("button", name="Refund", exact=True)
    refund.click()
    dialog = page.locator("dialog[data-refund-dialog]")
    expect(page.locator("dialog[data-refund-dialog]:modal")).to_be_visible()
    _focus_stays_inside(page, dialog, refund)
    expect(panel).to_be_visible()
