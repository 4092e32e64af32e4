"""A failing Kajabi grant in real Chromium: found in Requires attention, fixed, re-run, completed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.actions.services import run_action, schedule_actions, snapshot_actions
from orderdesk.actions.tests.builders import queued
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.sandboxes.models import SandboxKajabiGrant, SandboxKajabiOffer
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_browser import log_in, rows

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def failing_order(world: factories.World, email: str, hours_ago: int) -> Order:
    order = factories.order(
        world, email=email, created_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    snapshot_actions(order)
    schedule_actions(order)
    for run in queued(order):
        run_action(run.pk)
    order.refresh_from_db()
    return order


@pytest.fixture
def shop(
    transactional_db: None, live_server: Any, settings: Any
) -> tuple[factories.World, Order, Order]:
    settings.SANDBOXES_ENABLED = True
    settings.TASKS = IMMEDIATE
    world = factories.world()
    factories.kajabi_action(
        world.checkout,
        url=f"{live_server.url}/sandbox/kajabi/offers/masterclass/activate",
        offer=world.offer,
    )
    SandboxKajabiOffer.objects.create(key="masterclass", mode="invalid_email")
    first = failing_order(world, "anna@example.com", hours_ago=2)
    second = failing_order(world, "bert@example.com", hours_ago=1)
    return world, first, second


def test_it_fixes_a_failing_kajabi_grant_from_requires_attention(
    browser_page: Page, live_server: Any, shop: tuple[factories.World, Order, Order]
) -> None:
    world, first, second = shop
    page = browser_page
    log_in(page, live_server, world.sam)

    page.get_by_role("link", name=re.compile("Requires attention")).click()
    expect(page).to_have_url(re.compile(r"tab=attention"))
    expect(page.locator("#tab-attention-count")).to_have_text("2")
    assert sorted(rows(page)) == sorted([str(first.number), str(second.number)])

    page.locator(f"#order-row-{first.number} td.products").click()
    actions = page.locator("#panel-actions")
    expect(actions).to_contain_text("Kajabi answered 422: Email: is invalid")
    expect(actions.locator(".badge")).to_have_text("Failed")

    # Fix it on Kajabi's side (the sandbox), then Re-run from the panel.
    fixed = page.request.post(
        f"{live_server.url}/sandbox/kajabi/offers/masterclass/mode", form={"mode": "ok"}
    )
    assert fixed.ok
    actions.get_by_role("button", name="Re-run").click()

    expect(page.locator(".panel .alert-success")).to_contain_text("Re-run queued")
    expect(actions.locator(".badge")).to_have_text("Succeeded")
    expect(page.locator(".panel-sub .badge")).to_have_text("Completed")
    expect(page.locator(f"#order-row-{first.number}")).to_contain_text("Completed")
    timeline = page.locator("#panel-timeline")
    expect(timeline).to_contain_text("Re-run requested: Grant Kajabi offer (offer level)")
    expect(timeline).to_contain_text("sam@example.com")

    page.goto(f"{live_server.url}/orders/?tab=attention")
    expect(page.locator("#tab-attention-count")).to_have_text("1")
    assert rows(page) == [str(second.number)]
    assert SandboxKajabiGrant.objects.filter(email="anna@example.com", is_active=True).exists()

    # Mark as Completed on the other order, through the confirmation dialog.
    page.locator(f"#order-row-{second.number} td.products").click()
    page.locator("#mark-completed-button").click()
    dialog = page.locator("#mark-completed-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Use latest configuration")
    expect(dialog).to_contain_text("This change is permanent and cannot be undone.")
    expect(dialog).not_to_contain_text("Also restore refunded data")
    dialog.get_by_label("Use latest configuration").check()
    dialog.get_by_role("button", name="Mark as Completed").click()

    expect(page.locator(".panel .alert-success")).to_contain_text("Marked as completed")
    expect(page.locator(".panel-sub .badge")).to_have_text("Marked as Completed")
    expect(page.locator("#panel-actions .badge")).to_have_text("Succeeded")
    expect(page.locator(f"#order-row-{second.number}")).to_contain_text("Marked as Completed")
    expect(page.locator("#panel-timeline")).to_contain_text(
        "replaced with the latest configuration"
    )
    second.refresh_from_db()
    assert second.status == OrderStatus.MARKED_COMPLETED
    page.goto(f"{live_server.url}/orders/?tab=attention")
    expect(page.locator("#tab-attention-count")).to_have_text("0")
