"""The orders page's failure groups, Re-run all and bulk actions, through the views."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from pytest_django import Settings

from orderdesk.orders.events import EventType
from orderdesk.orders.models import Order, OrderEvent, OrderStatus
from orderdesk.recovery.jobs import run_bulk_job
from orderdesk.recovery.models import BulkJob, BulkVerb, JobStatus
from orderdesk.recovery.tests.builders import failing_order, kajabi_config
from orderdesk.testing import factories
from orderdesk.testing.factories import World

ERROR = "Kajabi answered 500: request {n}c0ffee9 failed"


@pytest.fixture
def outage(world: World) -> list[Order]:
    config = kajabi_config(world)
    return [failing_order(world, config, ERROR.format(n=n), minutes_ago=60 + n) for n in range(3)]


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _group_key(html: str) -> str:
    found = re.search(r'data-group="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_attention_tab_loads_its_groups_apart(world: World, outage: list[Order]) -> None:
    sam = _client(world.sam)
    page = sam.get("/orders/?tab=attention").content.decode()
    assert 'id="failure-groups" hx-get="/orders/attention/groups/"' in page
    assert "failure-groups" not in sam.get("/orders/").content.decode().split("bulk-dialog")[1]

    html = sam.get("/orders/attention/groups/").content.decode()
    assert html.count('<li class="failure-group') == 1
    assert "3 orders" in html
    assert "Grant Kajabi offer" in html
    assert "Kajabi answered …: request … failed" in html
    assert f"Example: order #{outage[0].number}" in html
    assert "Re-run all…" in html
    # A viewer sees the groups, not the button.
    assert "Re-run all…" not in _client(world.bob).get("/orders/attention/groups/").content.decode()


def test_re_run_all_shows_what_will_happen_then_runs_once(
    world: World, outage: list[Order]
) -> None:
    sam = _client(world.sam)
    key = _group_key(sam.get("/orders/attention/groups/").content.decode())
    dialog = sam.get("/orders/attention/groups/rerun/", {"group": key})
    html = dialog.content.decode()
    assert "The failed actions of 3 orders will run again" in html
    assert "The orders have the latest version (1)." in html
    assert 'name="confirm_count" value="3"' in html
    assert "With the latest configuration" not in html  # nothing newer to take

    form = {
        "verb": "rerun_failed",
        "scope": "group",
        "group": key,
        "confirm_count": "3",
        "key": "dialog-key-1",
    }
    first = sam.post("/orders/bulk/", form, headers={"HX-Request": "true"})
    again = sam.post("/orders/bulk/", form, headers={"HX-Request": "true"})
    assert first.status_code == again.status_code == 200
    (job,) = BulkJob.objects.all()
    assert job.description.startswith("Grant Kajabi offer: Kajabi answered")
    assert f'id="bulk-job-{job.pk}"' in first.content.decode()
    assert 'hx-trigger="every 1s"' in first.content.decode()
    run_bulk_job(job.pk)
    done = sam.get(f"/orders/bulk/{job.pk}/?watching=1")
    assert done["HX-Trigger"] == "bulk-finished"
    assert "3 done" in done.content.decode()
    assert "hx-trigger" not in done.content.decode()
    for order in outage:
        assert order.events.filter(type=EventType.ACTION_RERUN, actor_user=world.sam).count() == 1
    # The group's orders are running again, none failed: nothing for Re-run all yet.
    assert "Re-run all…" not in sam.get("/orders/attention/groups/").content.decode()


def test_a_viewer_cannot_start_a_job_and_others_cannot_see_one(
    world: World, outage: list[Order]
) -> None:
    bob = _client(world.bob)
    form = {"verb": "rerun_failed", "scope": "selected", "numbers": str(outage[0].number)}
    assert bob.post("/orders/bulk/", {**form, "key": "viewer-key-1"}).status_code == 403
    assert bob.get("/orders/attention/groups/rerun/", {"group": "dispute"}).status_code == 403
    sam = _client(world.sam)
    assert sam.post("/orders/bulk/", {**form, "key": "sam-key-001"}).status_code == 200
    job = BulkJob.objects.get()
    assert _client(world.charlie).get(f"/orders/bulk/{job.pk}/").status_code == 404
    assert bob.get(f"/orders/bulk/{job.pk}/").status_code == 200
    assert not OrderEvent.objects.filter(type=EventType.ACTION_RERUN).exists()


def test_selected_orders_of_another_checkout_are_left_out(
    world: World, outage: list[Order]
) -> None:
    theirs = factories.order(world, status=OrderStatus.PAID)
    Order.objects.filter(pk=theirs.pk).update(checkout=world.other_checkout)
    sam = _client(world.sam)
    numbers = f"{outage[0].number},{theirs.number}"
    sam.post(
        "/orders/bulk/",
        {"verb": "mark_completed", "scope": "selected", "numbers": numbers, "key": "sel-key-01"},
    )
    job = BulkJob.objects.get()
    assert job.total == 1
    assert list(job.items.values_list("order_id", flat=True)) == [outage[0].pk]


def test_a_filter_or_a_large_selection_is_confirmed_with_its_count(
    world: World, outage: list[Order], settings: Settings
) -> None:
    sam = _client(world.sam)
    form = {
        "verb": "mark_completed",
        "scope": "filter",
        "query": "tab=attention",
        "key": "filter-key-1",
    }
    asked = sam.post("/orders/bulk/", form, headers={"HX-Request": "true"})
    assert asked["HX-Retarget"] == "#bulk-dialog-slot"
    html = asked.content.decode()
    assert "This changes 3 orders" in html
    assert 'name="confirm_count" value="3"' in html
    assert not BulkJob.objects.exists()
    assert sam.post("/orders/bulk/", {**form, "confirm_count": "3"}).status_code == 200
    assert BulkJob.objects.get().verb == BulkVerb.MARK_COMPLETED

    settings.BULK_CONFIRM_OVER = 2
    numbers = ",".join(str(o.number) for o in outage)
    selected = {
        "verb": "rerun_failed",
        "scope": "selected",
        "numbers": numbers,
        "key": "big-key-01",
    }
    asked = sam.post("/orders/bulk/", selected)
    assert "This changes 3 orders" in asked.content.decode()
    assert BulkJob.objects.count() == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"scope": "selected", "numbers": ""}, "Select at least one order."),
        ({"scope": "selected", "numbers": "12;drop"}, "Order numbers are digits only"),
        ({"scope": "filter", "query": "date_from=31.1.2026"}, "date"),
        ({"scope": "group", "group": "actions:1:nothing"}, "no orders left"),
        ({"scope": "selected", "numbers": "1", "key": "x"}, "out of date"),
        ({"scope": "everything", "numbers": "1"}, "Select a valid choice"),
    ],
)
def test_bad_requests_say_why_and_change_nothing(
    world: World, outage: list[Order], form: dict[str, str], message: str
) -> None:
    response = _client(world.sam).post(
        "/orders/bulk/", {"verb": "rerun_failed", "key": "bad-key-001", **form}
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#bulk-message"
    assert message in response.content.decode()
    assert not BulkJob.objects.exists()


def test_the_page_lists_the_members_jobs_until_closed(world: World, outage: list[Order]) -> None:
    sam = _client(world.sam)
    sam.post(
        "/orders/bulk/",
        {
            "verb": "rerun_failed",
            "scope": "selected",
            "numbers": str(outage[0].number),
            "key": "list-key-1",
        },
    )
    job = BulkJob.objects.get()
    assert f'id="bulk-job-{job.pk}"' in sam.get("/orders/bulk/jobs/").content.decode()
    assert "bulk-job-" not in _client(world.alice).get("/orders/bulk/jobs/").content.decode()
    run_bulk_job(job.pk)
    assert BulkJob.objects.get().status == JobStatus.FINISHED
    assert sam.post(f"/orders/bulk/{job.pk}/dismiss/").status_code == 200
    assert "bulk-job-" not in sam.get("/orders/bulk/jobs/").content.decode()


def test_the_selection_downloads_as_csv(world: World, outage: list[Order]) -> None:
    sam = _client(world.sam)
    response = sam.post(
        "/orders/bulk/export.csv", {"numbers": f"{outage[0].number},{outage[2].number}"}
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    numbers = {line.split(",")[0] for line in body.splitlines()[1:]}
    assert numbers == {str(outage[0].number), str(outage[2].number)}
    assert sam.post("/orders/bulk/export.csv", {"numbers": "1;2"}).status_code == 400
    assert sam.post("/orders/bulk/export.csv", {"numbers": ""}).status_code == 400
