"""The customer service desk in real Chromium, as customer service (Sam) and as a viewer (Bob):
internal notes on an order and the account page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import time_machine
from django.core import mail
from playwright.sync_api import Page, expect

from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.orders.events import Actor
from orderdesk.orders.notes import add_note
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in


def test_customer_service_notes_an_order_and_sets_a_time_zone(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), tick=False):
        order = factories.order(world, email="anna@example.com", first_name="Anna")
    page = browser_page
    log_in(page, live_server, world.sam)

    page.goto(f"{live_server.url}/orders/{order.number}/")
    timeline = page.locator("#panel-timeline")
    timeline.get_by_label("Internal note").fill("Anna called: could not log in to Kajabi.")
    timeline.get_by_role("button", name="Add note").dblclick()

    expect(page.locator(".panel .alert-success")).to_have_text("Note added")
    expect(timeline.locator(".timeline-note")).to_have_count(1)
    expect(timeline.locator(".timeline-note")).to_contain_text("could not log in to Kajabi")
    expect(timeline.locator(".timeline-note")).to_contain_text("sam@example.com")

    page.get_by_role("link", name="sam@example.com").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")

    page.goto(f"{live_server.url}/orders/{order.number}/")
    expect(page.locator(".panel-sub time")).to_contain_text("2 Mar 2026, 04:30")


def test_a_viewer_reads_notes_but_cannot_write_them(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    order = factories.order(world)
    add_note(order, text="Promised a refund by Friday.", actor=Actor.of_user(world.sam))
    page = browser_page
    log_in(page, live_server, world.bob)

    page.goto(f"{live_server.url}/orders/{order.number}/")

    expect(page.locator("#panel-timeline .timeline-note")).to_contain_text("refund by Friday")
    expect(page.get_by_label("Internal note")).to_have_count(0)
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)
    expect(page.get_by_role("button", name="Change email")).to_have_count(0)
    expect(page.get_by_role("button", name="Resend email…")).to_have_count(0)


def test_customer_service_finds_an_order_the_way_the_customer_spells_it(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    aino = factories.order(
        world, email="aino.j@example.com", first_name="Aino", last_name="Järvinen"
    )
    factories.order(world, email="matti@example.com", first_name="Matti", last_name="Järvinen")
    factories.order(world, email="aino.k@example.com", first_name="Aino", last_name="Korhonen")
    page = browser_page
    log_in(page, live_server, world.sam)

    page.get_by_label("Search").fill("jarvinen aino")

    expect(page.locator("tr.order-row")).to_have_count(1)
    expect(page.locator(f"#order-row-{aino.number}")).to_contain_text("aino.j@example.com")
    expect(page).to_have_url(re.compile(r"q=jarvinen(%20|\+)aino"))


def test_customer_service_opens_the_customers_page_from_the_panel(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    older = factories.order(world, email="aino@example.com", first_name="Aino")
    newer = factories.order(world, email="aino@example.com", first_name="Aino", currency="SEK")
    page = browser_page
    log_in(page, live_server, world.sam)

    page.locator(f"#order-row-{newer.number} td.products").click()
    page.locator("#panel-customer").get_by_role("link", name="All orders of this customer").click()

    expect(page).to_have_url(re.compile(r"/customers/\?email=aino@example.com$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aino Meikäläinen")
    orders = page.locator("#customer-orders")
    expect(orders.get_by_role("link")).to_have_text([f"#{newer.number}", f"#{older.number}"])
    expect(page.locator("#customer-totals")).to_contain_text("SEK")

    orders.get_by_role("link", name=f"#{older.number}").click()
    expect(page.locator("#panel-title")).to_have_text(f"Order #{older.number}")


def test_customer_service_exports_and_erases_a_customers_data(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    factories.order(world, email="aino@example.com", first_name="Aino")
    factories.order(world, email="aino@example.com", first_name="Aino")
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/customers/?email=aino@example.com")

    with page.expect_download() as download:
        page.get_by_role("button", name="Export data (JSON)").click()
    assert download.value.suggested_filename == "customer-aino-at-example-com.json"
    with page.expect_download() as download:
        page.get_by_role("button", name="Export data (CSV)").click()
    assert download.value.suggested_filename.endswith(".csv")

    page.get_by_role("link", name="Erase personal data…").click()
    expect(page.locator("#erase-summary")).to_contain_text("2 orders")
    page.get_by_label("Type the customer's email to confirm").fill("aino@example.com")
    page.get_by_role("button", name="Erase 2 orders").click()

    expect(page.get_by_role("status")).to_have_text("The personal data of 2 orders was erased.")
    page.goto(f"{live_server.url}/customers/?email=aino@example.com")
    expect(page.locator("body")).to_contain_text("Page not found")


def test_a_viewer_reads_the_customers_page_without_export_or_erase(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    factories.order(world, email="aino@example.com", first_name="Aino")
    page = browser_page
    log_in(page, live_server, world.bob)

    page.goto(f"{live_server.url}/customers/?email=aino@example.com")

    expect(page.get_by_role("heading", level=1)).to_have_text("Aino Meikäläinen")
    expect(page.get_by_role("button", name="Export data (JSON)")).to_have_count(0)
    expect(page.get_by_role("link", name="Erase personal data…")).to_have_count(0)


def test_customer_service_previews_and_resends_a_receipt_once_on_a_double_click(
    browser_page: Page, live_server: Any, transactional_db: None, settings: Any
) -> None:
    # The run is handed to the task backend when the request's transaction commits.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    world = factories.world()
    order = factories.order(world, email="aino@example.com")
    email_action(order)
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    page.get_by_role("button", name="Resend email…").click()
    dialog = page.get_by_role("dialog", name=re.compile("Resend Receipt"))
    expect(dialog).to_contain_text(f"Your receipt for order #{order.number}")
    expect(dialog).to_contain_text("aino@example.com")
    dialog.get_by_role("button", name="Send").dblclick()

    expect(page.locator(".panel .alert-success")).to_contain_text("Resend queued: Receipt")
    expect(page.locator("#panel-timeline")).to_contain_text("Email resent: Receipt")
    assert len(mail.outbox) == 1


def test_customer_service_sends_a_receipt_the_checkout_never_sent_in_swedish(
    browser_page: Page, live_server: Any, transactional_db: None, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    world = factories.world()
    order = factories.order(world, email="aino@example.com")
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    page.get_by_role("button", name="Send receipt…").click()
    dialog = page.get_by_role("dialog", name=f"Send the receipt of order #{order.number}?")
    expect(dialog).to_contain_text(f"Your receipt for order #{order.number}")
    dialog.get_by_label("Language of the receipt").select_option("sv")
    expect(dialog).to_contain_text(f"Ditt kvitto för beställning #{order.number}")
    dialog.get_by_role("button", name="Send").dblclick()

    expect(page.locator(".panel .alert-success")).to_contain_text(
        "Receipt queued to aino@example.com"
    )
    expect(page.locator("#panel-actions")).to_contain_text("Send receipt email")
    expect(page.get_by_role("button", name="Send receipt…")).to_have_count(0)
    expect(page.get_by_role("button", name="Resend email…")).to_have_count(1)
    assert [m.subject for m in mail.outbox] == [f"Ditt kvitto för beställning #{order.number}"]


def test_customer_service_corrects_a_mistyped_email(
    browser_page: Page, live_server: Any, world: factories.World
) -> None:
    order = factories.order(world, email="aino@exmaple.com")
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/{order.number}/")

    page.get_by_role("button", name="Change email").click()
    dialog = page.get_by_role("dialog", name="Change the customer's email")
    dialog.get_by_label("New email").fill("Aino@Example.com")
    dialog.get_by_role("button", name="Change email").click()

    expect(page.locator(".panel .alert-success")).to_contain_text(
        "Email changed to aino@example.com"
    )
    expect(page.locator("#panel-customer")).to_contain_text("aino@example.com")
    expect(page.locator("#panel-timeline")).to_contain_text(
        "Customer email changed: aino@exmaple.com → aino@example.com"
    )
    expect(page.locator(f"#order-row-{order.number}")).to_contain_text("aino@example.com")
