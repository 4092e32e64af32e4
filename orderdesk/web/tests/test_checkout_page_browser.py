"""The demo checkout page in real Chromium (issue 16): a customer buys through the Stripe
sandbox's card page and comes back to the thank-you page, which follows the order from
Processing to Paid to Completed; staff see it in the orders table."""

from __future__ import annotations

import re
from typing import Any

from django.core.management import call_command
from playwright.sync_api import ConsoleMessage, Page, expect

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.tests.conftest import sandboxed
from orderdesk.sandboxes import deliveries
from orderdesk.testing import factories
from orderdesk.testing.accessibility import assert_accessible
from orderdesk.testing.factories import World
from orderdesk.web.tests.test_checkout_page import receipt_action
from orderdesk.web.tests.test_csp_browser import RECORD_VIOLATIONS
from orderdesk.web.tests.test_orders_browser import log_in

__all__ = ["sandboxed"]


def test_a_customer_buys_with_a_bump_and_a_code_and_staff_see_it_completed(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    world = sandboxed
    receipt_action(world)
    factories.discount_code(world.checkout, "SPRING10")
    page = browser_page
    console: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            console.append(message.text)

    page.on("console", note)
    page.add_init_script(RECORD_VIOLATIONS)
    page_url = f"{live_server.url}/c/{world.checkout.pk}/{world.link.slug}/"

    # Open: a Started order.
    page.goto(page_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Masterclass launch")
    summary = page.locator("#summary")
    expect(summary.locator("[data-total]")).to_have_text("€79.00")
    order = Order.objects.get(checkout=world.checkout)
    assert order.status == OrderStatus.STARTED
    assert_accessible(page, "the demo checkout page")

    # The order bump and a code re-price the summary in place (htmx).
    page.get_by_label(re.compile("Workbook PDF")).check()
    expect(summary.locator("[data-total]")).to_have_text("€88.00")
    expect(summary).to_contain_text("Order bump")
    summary.get_by_label("Discount code").fill("NOPE")
    summary.get_by_role("button", name="Apply").click()
    expect(summary.get_by_role("alert")).to_have_text("That discount code does not exist.")
    summary.get_by_label("Discount code").fill("spring10")
    summary.get_by_role("button", name="Apply").click()
    expect(summary).to_contain_text("Code SPRING10 applied.")
    expect(summary.locator("[data-total]")).to_have_text("€79.20")

    # The details: In Progress, and the payment step appears.
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator("#email-error, .field-error").first).to_be_visible()
    page.get_by_label("Email").fill("maija@example.com")
    page.get_by_label("First name").fill("Maija")
    page.get_by_label("Last name").fill("Meikäläinen")
    page.get_by_label("Country").select_option("FI")
    page.get_by_label(re.compile("analytics cookies")).check()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Payment")).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert order.analytics_consent is True

    # Pay through the Stripe sandbox's own card page and come back.
    page.get_by_label("Card (Stripe)").check()
    page.get_by_role("button", name="Pay now").click()
    expect(page.get_by_role("heading", name="Stripe sandbox")).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    page.get_by_role("button", name=re.compile("Pay with 4242")).click()
    page.wait_for_url(re.compile(r"/thanks/\?payment_intent=pi_\w+&redirect_status=succeeded$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirming your payment…")

    # Stripe's webhook arrives: Paid; the thank-you page notices by itself.
    deliveries.deliver_pending()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order!")
    expect(page.locator(".checkout-order-status")).to_contain_text("Paid")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    # The task worker runs the receipt action: Completed.
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    expect(page.locator(".checkout-order-status")).to_contain_text("Completed")
    expect(page.get_by_role("status")).to_contain_text("your order is ready")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.total_minor == 7920
    violations = page.evaluate("window.__violations")

    # Staff see it in the orders table.
    log_in(page, live_server, world.sam)
    row = page.locator(f"#order-row-{order.number}")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("maija@example.com")
    expect(row).to_contain_text("€79.20")

    assert violations == []
    assert console == []


def test_a_customer_pays_with_a_paytrail_bank_in_finnish(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    world = sandboxed
    page = browser_page
    page.context.set_extra_http_headers({"Accept-Language": "fi"})
    page.goto(f"{live_server.url}/c/{world.checkout.pk}/{world.link.slug}/")
    expect(page.locator("#summary [data-total]")).to_have_text("79,00\u00a0€")
    page.get_by_label("Sähköposti").fill("maija@example.com")
    page.get_by_label("Etunimi").fill("Maija")
    page.get_by_label("Sukunimi").fill("Meikäläinen")
    page.get_by_role("button", name="Jatka maksamaan").click()
    page.get_by_label("Nordea (Paytrailin kautta)").check()
    page.get_by_role("button", name="Maksa nyt").click()
    order = Order.objects.get(checkout=world.checkout)
    assert order.status == OrderStatus.PROCESSING

    # The bank button is posted to Paytrail, which sends the customer back signed: through
    # our redirect endpoint (which applies it) to the checkout's own thank-you page.
    page.get_by_role("button", name="Jatka").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiitos tilauksestasi!")
    assert page.url.startswith(
        f"{live_server.url}/c/{world.checkout.pk}/{world.link.slug}/thanks/"
    ), page.url
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.payment_attempts.get().method == "nordea"


def _to_epassi(page: Page, live_server: Any, world: World) -> Order:
    page.goto(f"{live_server.url}/c/{world.checkout.pk}/{world.link.slug}/")
    page.get_by_label("Email").fill("matti@example.com")
    page.get_by_label("First name").fill("Matti")
    page.get_by_label("Last name").fill("Virtanen")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Epassi benefit").check()
    page.get_by_role("button", name="Pay now").click()
    # Epassi takes a form posted by the customer's browser.
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue to payment")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Epassi sandbox")).to_be_visible()
    return Order.objects.get(checkout=world.checkout)


def test_a_customer_pays_with_their_epassi_benefit(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    world = sandboxed
    page = browser_page
    order = _to_epassi(page, live_server, world)
    assert order.status == OrderStatus.PROCESSING

    # Epassi posts the signed return through the browser; we apply it and show our page.
    page.get_by_role("button", name="Pay with Epassi balance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order!")
    assert "/thanks/" in page.url
    expect(page.locator(".checkout-order-status")).to_contain_text("Completed")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    attempt = order.payment_attempts.get()
    assert (attempt.provider, attempt.amount_minor) == ("epassi", 7900)


def test_an_epassi_payment_rejected_for_the_balance_goes_back_to_the_checkout(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    world = sandboxed
    page = browser_page
    order = _to_epassi(page, live_server, world)

    page.get_by_role("button", name="Reject (insufficient balance)").click()

    expect(page.get_by_role("alert")).to_have_text(
        "The payment was not completed and no money was taken. You can try again."
    )
    assert page.url.endswith("?payment=failed#payment"), page.url
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert order.payment_attempts.get().status == "failed"
