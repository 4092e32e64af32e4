"""A Kajabi outage in real Chromium: one group, Re-run all, the progress bar, an empty tab."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orderdesk.actions.models import ActionRun, RunStatus
from orderdesk.actions.services import run_action, schedule_actions, snapshot_actions
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.recovery.jobs import _actor, _claim, _process, run_bulk_job
from orderdesk.recovery.models import BulkJob, ItemOutcome
from orderdesk.sandboxes.models import SandboxKajabiGrant, SandboxKajabiOffer
from orderdesk.testing import factories
from orderdesk.testing.accessibility import assert_accessible
from orderdesk.web.tests.test_orders_browser import log_in, rows

# Tasks are recorded, not run: the test is the worker, so the page can be watched between steps.
DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
BATCH = 4


def _run_queued_actions() -> None:
    for run in ActionRun.objects.filter(status=RunStatus.QUEUED):
        run_action(run.pk)


@pytest.fixture
def outage(
    transactional_db: None, live_server: Any, settings: Any
) -> tuple[factories.World, list[Order]]:
    settings.SANDBOXES_ENABLED = True
    settings.TASKS = DUMMY
    world = factories.world()
    factories.kajabi_action(
        world.checkout,
        url=f"{live_server.url}/sandbox/kajabi/offers/launch/activate",
        offer=world.offer,
    )
    # Kajabi refuses every grant of the launch's offer.
    SandboxKajabiOffer.objects.create(key="launch", mode="invalid_email")
    orders = []
    for n in range(BATCH):
        order = factories.order(
            world,
            email=f"buyer{n}@example.com",
            created_at=timezone.now() - dt.timedelta(minutes=30 + n),
        )
        snapshot_actions(order)
        schedule_actions(order)
        orders.append(order)
    _run_queued_actions()
    return world, orders


def test_a_kajabi_outage_is_one_group_re_run_all_at_once(
    browser_page: Page,
    live_server: Any,
    settings: Any,
    outage: tuple[factories.World, list[Order]],
) -> None:
    world, orders = outage
    page = browser_page
    log_in(page, live_server, world.sam)

    page.get_by_role("link", name=re.compile("Requires attention")).click()
    expect(page.locator("#tab-attention-count")).to_have_text(str(BATCH))
    assert sorted(rows(page)) == sorted(str(o.number) for o in orders)
    groups = page.locator(".failure-group")
    expect(groups).to_have_count(1)
    group = groups.first
    expect(group).to_contain_text(f"{BATCH} orders")
    expect(group).to_contain_text("Grant Kajabi offer")
    expect(group).to_contain_text("Kajabi answered …: Email: is invalid")
    expect(group).to_contain_text("Example: order #")
    assert_accessible(page, "Requires attention grouped by cause, with the bulk toolbar")

    # Kajabi is fixed; the group's orders are re-run in one step.
    fixed = page.request.post(
        f"{live_server.url}/sandbox/kajabi/offers/launch/mode", form={"mode": "ok"}
    )
    assert fixed.ok
    group.get_by_role("button", name="Re-run all…").click()
    dialog = page.locator("#group-rerun-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"The failed actions of {BATCH} orders will run again")
    expect(dialog).to_contain_text("The orders have the latest version (1).")
    assert_accessible(page, "the Re-run all dialog", "#group-rerun-dialog")
    dialog.get_by_role("button", name=f"Re-run {BATCH} orders").click()
    expect(dialog).to_have_count(0)

    job_box = page.locator(".bulk-job")
    expect(job_box).to_contain_text(f"Waiting for a worker: {BATCH} orders")
    job = BulkJob.objects.get()
    assert job.created_by == world.sam

    # A worker takes the job and gets halfway; the bar follows, and survives a reload.
    claim = _claim(job.pk)
    assert claim is not None
    for item in job.items.order_by("position")[: BATCH // 2]:
        _process(job, item.pk, _actor(job), True)
    expect(job_box).to_contain_text(f"{BATCH // 2} of {BATCH} orders")
    expect(job_box.locator("progress")).to_have_attribute("value", str(BATCH // 2))
    page.reload()
    expect(page.locator(".bulk-job")).to_contain_text(f"{BATCH // 2} of {BATCH} orders")

    # The worker died; the next one finishes the job, its grants running as it goes (before
    # the job says it is finished, which the page is watching for).
    BulkJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    _run_queued_actions()
    settings.TASKS = IMMEDIATE
    finished = run_bulk_job(job.pk)
    assert finished is not None
    assert set(finished.items.values_list("outcome", flat=True)) == {ItemOutcome.DONE}

    job_box = page.locator(".bulk-job")
    expect(job_box).to_contain_text(f"Finished: {BATCH} orders")
    expect(job_box).to_contain_text(f"{BATCH} done")
    # The finished job refreshes the table: Requires attention is empty.
    expect(page.locator("#tab-attention-count")).to_have_text("0")
    expect(page.locator("tr.order-row")).to_have_count(0)
    expect(page.locator(".failure-group")).to_have_count(0)
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED
    assert SandboxKajabiGrant.objects.filter(is_active=True).count() == BATCH

    # The timeline names the staff member who asked.
    page.goto(f"{live_server.url}/orders/{orders[0].number}/")
    expect(page.locator("#panel-timeline")).to_contain_text(
        "Re-run of 1 failed action(s) requested"
    )
    expect(page.locator("#panel-timeline")).to_contain_text("sam@example.com")


def test_selected_rows_are_marked_completed_in_the_background(
    browser_page: Page, live_server: Any, outage: tuple[factories.World, list[Order]]
) -> None:
    world, orders = outage
    page = browser_page
    log_in(page, live_server, world.sam)
    page.goto(f"{live_server.url}/orders/?tab=attention")
    chosen = orders[:2]

    # The checkbox takes no tab stop of its own; x on the row's link toggles it too.
    box = page.locator(f"#order-row-{chosen[0].number} input.row-select")
    assert box.get_attribute("tabindex") == "-1"
    box.check()
    page.locator(f"#order-row-{chosen[1].number} a.row-link").focus()
    page.keyboard.press("x")
    expect(page.locator("[data-selection-count]")).to_have_text("Selected: 2")

    page.locator("#bulk-complete").click()
    job_box = page.locator(".bulk-job")
    expect(job_box).to_contain_text("Waiting for a worker: 2 orders")
    run_bulk_job(BulkJob.objects.get().pk)
    expect(job_box).to_contain_text("2 done")
    for order in chosen:
        order.refresh_from_db()
        assert order.status == OrderStatus.MARKED_COMPLETED
    for order in orders[2:]:
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID

    # Everything the filters match (the completed two still run their grants, so they are
    # still in the tab): the count is confirmed first.
    page.goto(f"{live_server.url}/orders/?tab=attention")
    page.locator("#bulk-scope").select_option("filter")
    page.locator("#bulk-rerun").click()
    confirm = page.locator("#bulk-confirm-dialog")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("This changes 4 orders, in the background.")
    assert_accessible(page, "the bulk confirmation", "#bulk-confirm-dialog")
    confirm.get_by_role("button", name="Yes, change 4 orders").click()
    expect(confirm).to_have_count(0)
    expect(page.locator(".bulk-job").first).to_contain_text("Waiting for a worker: 4 orders")
    latest = BulkJob.objects.order_by("-pk").first()
    assert latest is not None
    assert (latest.verb, latest.total) == ("rerun_failed", 4)
