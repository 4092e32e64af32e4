"""Refunding a whole product and completing a refunded order, as customer service in Chromium.

"Remove access" comes ticked for a product that granted access and says what it removes
(finding 8); completing keeps the status true to the money, and restoring after a provider
refund says the customer keeps that money (findings 4 and 7). Issue 13.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.tests.conftest import sandboxed
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.web.tests.test_orders_browser import log_in
from orderdesk.web.tests.test_refund_browser import open_refund_dialog, paid_by_stripe_with_bump

__all__ = ["sandboxed"]


def grant_course(world: World, order: Order) -> None:
    ActionSnapshot.objects.create(
        order=order,
        level=ActionLevel.PRODUCT,
        product=world.course,
        kind=ActionKind.KAJABI_GRANT,
        name="Grant Masterclass in Kajabi",
        status=SnapshotStatus.SUCCEEDED,
        position=0,
    )


def test_remove_access_comes_ticked_for_a_whole_product_and_can_be_unticked(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order = paid_by_stripe_with_bump(sandboxed)
    grant_course(sandboxed, order)
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    dialog = open_refund_dialog(page)
    course = dialog.get_by_label("Refund amount for Photography Masterclass")
    workbook = dialog.get_by_label("Refund amount for Workbook PDF")
    rows = dialog.locator("tr[data-refund-row]")
    course_row = rows.filter(has=page.get_by_label("Refund amount for Photography Masterclass"))
    workbook_row = rows.filter(has=page.get_by_label("Refund amount for Workbook PDF"))
    course_access = course_row.get_by_label("Remove access")
    workbook_access = workbook_row.get_by_label("Remove access")

    course.fill("79")
    expect(course_access).to_be_checked()
    expect(course_row).to_contain_text("Removes: Grant Masterclass in Kajabi.")
    workbook.fill("9")
    expect(workbook_access).not_to_be_checked()  # it granted nothing of its own
    expect(workbook_row).to_contain_text("This product granted no access of its own.")
    # Staff's choice stands while they edit the amount.
    course_access.uncheck()
    course.fill("70")
    course.fill("79")
    expect(course_access).not_to_be_checked()
    course_access.check()
    dialog.get_by_role("button", name="Refund").click()

    expect(page.locator(".panel [data-outcome]")).to_have_text(
        "Refund of €88.00 succeeded through Stripe."
    )
    refund = order.refunds.get()
    assert {(line.order_line.name, line.remove_access) for line in refund.lines.all()} == {
        ("Photography Masterclass", True),
        ("Workbook PDF", False),
    }


def test_completing_a_refunded_order_says_what_restoring_means(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order, _, _ = paid_by_stripe(sandboxed)
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")
    dialog = open_refund_dialog(page)
    dialog.get_by_label("Refund amount for Photography Masterclass").fill("79")
    dialog.get_by_role("button", name="Refund").click()
    row = page.locator(f"#order-row-{order.number}")
    expect(row).to_contain_text(re.compile(r"\bRefunded\b"))

    page.locator("#mark-completed-button").click()
    confirm = page.locator("#mark-completed-dialog")
    restore = confirm.get_by_label(re.compile("Also restore refunded data"))
    expect(restore).to_be_checked()
    expect(confirm.locator("[data-provider-refunded]")).to_contain_text(
        "The provider did return the money of this order's refunds, and it stays with the"
        " customer: restoring changes Orderdesk's records only"
    )
    expect(confirm).to_contain_text("it can be completed only with its refunded data restored")
    restore.uncheck()
    confirm.get_by_role("button", name="Mark as Completed").click()
    expect(page.locator(".panel .alert-error")).to_contain_text(
        "It was refunded in full: to complete it, also restore its refunded data"
    )
    expect(row).to_contain_text(re.compile(r"\bRefunded\b"))

    page.locator("#mark-completed-button").click()
    confirm = page.locator("#mark-completed-dialog")
    expect(confirm.get_by_label(re.compile("Also restore refunded data"))).to_be_checked()
    confirm.get_by_role("button", name="Mark as Completed").click()
    expect(page.locator(".panel .alert-success")).to_contain_text("Marked as completed")
    expect(row).to_contain_text("Marked as Completed")
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.MARKED_COMPLETED, 0)


def test_completing_a_partially_refunded_order_keeps_its_refunds(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order = paid_by_stripe_with_bump(sandboxed)
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")
    dialog = open_refund_dialog(page)
    dialog.get_by_label("Refund amount for Workbook PDF").fill("9")
    dialog.get_by_role("button", name="Refund").click()
    row = page.locator(f"#order-row-{order.number}")
    expect(row).to_contain_text("Partially Refunded")

    page.locator("#mark-completed-button").click()
    confirm = page.locator("#mark-completed-dialog")
    expect(confirm.get_by_label(re.compile("Also restore refunded data"))).not_to_be_checked()
    expect(confirm).to_contain_text("Left unchecked, the order keeps its refunds")
    confirm.get_by_role("button", name="Mark as Completed").click()

    expect(page.locator(".panel .alert-success")).to_have_text(
        "Marked as completed: the order stays Partially Refunded, its refunds kept"
    )
    expect(row).to_contain_text("Partially Refunded")
    expect(open_refund_dialog(page)).to_contain_text("Max €79.00")


def test_customer_service_marks_an_invoice_as_paid(
    sandboxed: World, live_server: Any, browser_page: Page
) -> None:
    page = browser_page
    order = factories.order(
        sandboxed, status=OrderStatus.PROCESSING, provider="manual", method="invoice"
    )
    log_in(page, live_server, sandboxed.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")
    expect(page.locator(".panel")).to_contain_text("€79.00 by invoice, once the money is in your")

    page.locator(".panel").get_by_role("button", name="Mark as paid").dblclick()

    expect(page.locator(".panel .alert-success")).to_contain_text(
        "Marked as paid by sam@example.com"
    )
    expect(page.locator(f"#order-row-{order.number}")).to_contain_text("Completed")
    expect(page.locator("#panel-payments")).to_contain_text("Marked as paid by sam@example.com")
    expect(page.locator("#panel-timeline")).to_contain_text(
        "Marked as paid (invoice) by sam@example.com"
    )
    expect(page.locator(".panel").get_by_role("button", name="Mark as paid")).to_have_count(0)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.events.filter(message__startswith="Marked as paid").count() == 1
