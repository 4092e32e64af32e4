"""Refunding in real Chromium against the Stripe sandbox: the dialog, the panel and the row."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, ProviderAccount
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.refunds import EPASSI_NO_INTERFACE_MESSAGE, EPASSI_PARTIAL_MESSAGE
from orderdesk.payments.tests.conftest import sandboxed
from orderdesk.payments.tests.test_stripe_sandbox import pay
from orderdesk.sandboxes import deliveries
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.web.tests.test_orders_browser import log_in

__all__ = ["sandboxed"]


def paid_by_stripe_with_bump(world: World) -> Order:
    order = factories.order(world, status=OrderStatus.IN_PROGRESS, add_ons=(world.bump,))
    attempt = PaymentAttempt.objects.create(
        order=order,
        provider="stripe",
        method="card",
        amount_minor=order.total_minor,
        currency=order.currency,
        stamp=uuid.uuid4().hex,
        created_at=timezone.now(),
    )
    start = get_provider("stripe", world.checkout).start_payment(attempt)
    attempt.provider_reference = start.provider_reference
    attempt.save(update_fields=["provider_reference"])
    transitions.start_processing(order, actor=Actor.customer())
    pay(start.redirect_url, "succeed")
    deliveries.deliver_pending()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    return order


def modal_refund_dialog(page: Page) -> Any:
    # The dialog arrives with `open` (usable without JS) and becomes modal once htmx settles;
    # Esc and focus only work from then on, as for a person looking at it.
    dialog = page.locator("dialog[data-refund-dialog]:modal")
    expect(dialog).to_be_visible()
    return dialog


def open_refund_dialog(page: Page) -> Any:
    page.locator(".panel").get_by_role("button", name="Refund", exact=True).click()
    return modal_refund_dialog(page)


def test_it_refunds_a_stripe_order_in_two_steps(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order = paid_by_stripe_with_bump(sandboxed)
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")
    row = page.locator(f"#order-row-{order.number}")
    expect(row).to_contain_text("Completed")

    dialog = open_refund_dialog(page)
    course = dialog.get_by_label("Refund amount for Photography Masterclass")
    remove_access = (
        dialog.locator("tr[data-refund-row]")
        .filter(has=page.get_by_label("Refund amount for Photography Masterclass"))
        .locator("[data-remove-access]")
    )
    expect(dialog).to_contain_text("Max €79.00")
    expect(dialog).to_contain_text("Always mark orders correctly")
    course.fill("79")
    expect(remove_access).to_be_visible()
    course.fill("25,00")
    expect(remove_access).to_be_hidden()
    expect(dialog.locator("[data-route]")).to_contain_text("through Stripe")
    dialog.get_by_role("button", name="Refund").click()

    panel = page.locator(".panel")
    expect(panel).to_contain_text("Refund of €25.00 succeeded through Stripe.")
    expect(page.locator("dialog[data-refund-dialog]")).to_have_count(0)
    expect(row).to_contain_text("Partially Refunded")
    expect(panel.locator(".panel-sub")).to_contain_text("Partially Refunded")

    dialog = open_refund_dialog(page)
    expect(dialog).to_contain_text("Max €54.00")
    dialog.get_by_label("Refund amount for Photography Masterclass").fill("54")
    dialog.get_by_label("Refund amount for Workbook PDF").fill("9.00")
    dialog.get_by_role("button", name="Refund").click()

    expect(panel).to_contain_text("Refund of €63.00 succeeded through Stripe.")
    expect(row).to_contain_text(re.compile(r"\bRefunded\b"))
    expect(panel.get_by_role("button", name="Refund", exact=True)).to_have_count(0)
    attempt = order.payment_attempts.get()
    assert attempt.status == PaymentStatus.REFUNDED
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.REFUNDED, 8800)


def test_it_shows_bad_amounts_and_the_epassi_partial_message(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order = factories.order(
        sandboxed, provider="epassi", method="epassi", add_ons=(sandboxed.bump,)
    )
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    dialog = open_refund_dialog(page)
    course = dialog.get_by_label("Refund amount for Photography Masterclass")
    course.fill("10")
    expect(dialog.locator("[data-route]")).to_have_text(EPASSI_PARTIAL_MESSAGE)
    dialog.get_by_label("Refund amount for Workbook PDF").fill("9")
    course.fill("79")
    expect(dialog.locator("[data-route]")).to_contain_text("through Epassi")

    course.fill("80")
    dialog.get_by_role("button", name="Refund").click()
    expect(page.locator("dialog[data-refund-dialog]")).to_contain_text(
        "At most €79.00 can be refunded for this product."
    )
    dialog = modal_refund_dialog(page)
    invalid = dialog.get_by_label("Refund amount for Photography Masterclass")
    expect(invalid).to_have_attribute("aria-invalid", "true")
    expect(invalid).to_be_focused()
    assert order.refunds.count() == 0

    page.keyboard.press("Escape")
    expect(page.locator("dialog[data-refund-dialog]")).to_have_count(0)
    expect(page.locator(".panel")).to_be_visible()


def test_it_tells_staff_to_cancel_in_epassi_when_the_merchant_has_no_refund_interface(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    ProviderAccount.objects.filter(provider="epassi").update(epassi_no_refund_interface=True)
    page = browser_page
    order = factories.order(sandboxed, provider="epassi", method="epassi")
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    dialog = open_refund_dialog(page)
    course = dialog.get_by_label("Refund amount for Photography Masterclass")
    course.fill("79")
    expect(dialog.locator("[data-route]")).to_have_text(EPASSI_NO_INTERFACE_MESSAGE)
    course.fill("10")
    expect(dialog.locator("[data-route]")).to_have_text(EPASSI_PARTIAL_MESSAGE)
    course.fill("79")
    dialog.get_by_role("button", name="Refund").click()

    panel = page.locator(".panel")
    expect(panel).to_contain_text(
        "Refund of €79.00 recorded, and the money is not returned yet. "
        + EPASSI_NO_INTERFACE_MESSAGE
    )
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.REFUNDED, 7900)
    assert order.payment_attempts.get().status == PaymentStatus.SUCCEEDED
