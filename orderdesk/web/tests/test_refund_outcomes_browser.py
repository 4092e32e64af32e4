"""Every refund outcome as customer service sees it, in Chromium against the sandboxes.

Succeeded is green (test_refund_browser.py); recorded only and "action needed at the
provider" are warnings with the next step; a failed refund is an error with the provider's
message and frees the product; a pending one says who is being asked and offers "Check now"
where the provider has a status API (Stripe, Paytrail once it named the refund) and the staff
confirmation where it has none (Epassi, Paytrail without an answer). Issue 13.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from django.conf import settings
from playwright.sync_api import Locator, Page, expect

from orderdesk.orders.events import EventType
from orderdesk.orders.models import Order
from orderdesk.payments.models import RefundStatus
from orderdesk.payments.tests.conftest import sandboxed, wait_for_stalled_sandbox
from orderdesk.payments.tests.test_epassi_sandbox import paid_by_epassi
from orderdesk.payments.tests.test_paytrail_sandbox import paid_by_paytrail
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.sandboxes import store
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.web.tests.test_orders_browser import log_in
from orderdesk.web.tests.test_refund_browser import open_refund_dialog

__all__ = ["sandboxed"]


def refund_in_dialog(page: Page, amount: str, *, refund_payments: bool = True) -> Locator:
    """Refund `amount` of the course through the dialog; the panel's outcome banner."""
    dialog = open_refund_dialog(page)
    dialog.get_by_label("Refund amount for Photography Masterclass").fill(amount)
    if not refund_payments:
        dialog.get_by_label("Refund payments").uncheck()
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator("dialog[data-refund-dialog]")).to_have_count(0)
    return page.locator(".panel [data-outcome]")


def open_order(page: Page, live_server: Any, world: World, order: Order) -> None:
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")


def test_stripe_pending_then_check_now_shows_the_failure_and_frees_the_product(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order, _, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "500")
    open_order(page, live_server, sandboxed, order)

    outcome = refund_in_dialog(page, "25")

    expect(outcome).to_have_class(re.compile(r"\balert-info\b"))
    expect(outcome).to_contain_text("Refund of €25.00 is pending: checking with Stripe")
    entry = page.locator(".panel .refund-entry")
    expect(entry.get_by_role("button", name="Stripe refunded it")).to_have_count(0)
    entry.get_by_role("button", name="Check now").click()

    outcome = page.locator(".panel [data-outcome]")
    expect(outcome).to_have_class(re.compile(r"\balert-error\b"))
    expect(outcome).to_have_text(
        "Refund of €25.00 failed: Stripe has no refund for this request. No money was returned"
        " and nothing else changed: its products can be refunded again."
    )
    expect(page.locator(f"#order-row-{order.number}")).to_contain_text("Completed")
    expect(open_refund_dialog(page)).to_contain_text("Max €79.00")


def test_recorded_only_and_epassi_partial_refunds_are_warnings_with_the_next_step(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    stripe, _, _ = paid_by_stripe(sandboxed)
    epassi = factories.order(sandboxed, provider="epassi", method="epassi")
    open_order(page, live_server, sandboxed, stripe)

    expect(
        open_refund_dialog(page).get_by_label("Email the customer a refund confirmation")
    ).to_be_checked()
    page.keyboard.press("Escape")
    outcome = refund_in_dialog(page, "10", refund_payments=False)
    expect(outcome).to_have_class(re.compile(r"\balert-warning\b"))
    expect(page.locator("#panel-timeline")).to_contain_text(
        "Refund confirmation of €10.00 emailed to customer@example.com"
    )
    expect(outcome).to_have_text(
        "Refund of €10.00 recorded only: no money was returned. If the customer should have it"
        " back, return it outside Orderdesk."
    )

    page.goto(f"{live_server.url}/orders/{epassi.number}/")
    outcome = refund_in_dialog(page, "20")
    expect(outcome).to_have_class(re.compile(r"\balert-warning\b"))
    expect(outcome).to_contain_text("the money must be returned in Epassi's own service")
    expect(page.locator(".panel .refund-entry .alert-warning")).to_contain_text(
        "Refund of €20.00 recorded, and the money is not returned yet."
    )


def test_paytrail_pending_is_checked_again_until_paytrail_settles_it(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", "pending")
    open_order(page, live_server, sandboxed, order)

    outcome = refund_in_dialog(page, "25")
    expect(outcome).to_contain_text("checking with Paytrail")
    check = page.locator(".panel .refund-entry").get_by_role("button", name="Check now")
    # Paytrail still says pending: the panel comes back as it was, so wait for the answer.
    with page.expect_response(lambda response: "/check/" in response.url):
        check.click()
    expect(page.locator(".panel [data-outcome]")).to_contain_text(
        "Last answer: Paytrail refund pending."
    )

    reference = order.refunds.get().provider_reference
    httpx.post(
        f"{settings.PAYTRAIL_API_BASE}/refunds/{reference}/settle/", data={"outcome": "ok"}
    ).raise_for_status()
    with page.expect_response(lambda response: "/check/" in response.url):
        check.click()

    outcome = page.locator(".panel [data-outcome]")
    expect(outcome).to_have_class(re.compile(r"\balert-success\b"))
    expect(outcome).to_have_text("Refund of €25.00 succeeded through Paytrail.")
    expect(page.locator(f"#order-row-{order.number}")).to_contain_text("Partially Refunded")


def test_paytrail_without_an_answer_is_confirmed_not_refunded_by_staff(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", "500")
    open_order(page, live_server, sandboxed, order)

    outcome = refund_in_dialog(page, "25")
    expect(outcome).to_contain_text("Paytrail has not confirmed it and cannot be asked")
    entry = page.locator(".panel .refund-entry")
    expect(entry.get_by_role("button", name="Check now")).to_have_count(0)
    entry.get_by_role("button", name="Paytrail did not refund it").click()

    expect(page.locator(".panel [data-outcome]")).to_have_class(re.compile(r"\balert-error\b"))
    expect(page.locator("#panel-timeline")).to_contain_text(
        "sam@example.com confirmed that Paytrail did not return the money"
    )
    expect(open_refund_dialog(page)).to_contain_text("Max €79.00")


def test_epassi_timeout_is_confirmed_refunded_once_despite_a_double_click(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order, _, _ = paid_by_epassi(sandboxed)
    store.add_fault("epassi", "cancel", "timeout")
    open_order(page, live_server, sandboxed, order)

    outcome = refund_in_dialog(page, "79")
    wait_for_stalled_sandbox()
    expect(outcome).to_contain_text(
        "Look the payment up in Epassi's own service, then confirm here whether Epassi refunded it."
    )
    page.locator(".panel .refund-entry").get_by_role("button", name="Epassi refunded it").dblclick()

    outcome = page.locator(".panel [data-outcome]")
    expect(outcome).to_have_text("Refund of €79.00 succeeded through Epassi.")
    expect(page.locator(f"#order-row-{order.number}")).to_contain_text(re.compile(r"\bRefunded\b"))
    expect(page.locator("#panel-timeline")).to_contain_text(
        "sam@example.com confirmed that Epassi returned the money"
    )
    order.refresh_from_db()
    assert (order.refunded_minor, order.refunds.get().status) == (7900, RefundStatus.SUCCEEDED)
    assert order.events.filter(type=EventType.REFUND_SUCCEEDED).count() == 1
