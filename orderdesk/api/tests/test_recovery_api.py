"""The staff API's failure groups and bulk jobs: each operation, its roles and its errors."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from orderdesk.api.tests.test_staff_api import Staff, staff_for
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActorType, Order, OrderEvent
from orderdesk.organizations.models import CheckoutRole
from orderdesk.recovery.jobs import run_bulk_job
from orderdesk.recovery.models import BulkJob
from orderdesk.recovery.tests.builders import failing_order, kajabi_config
from orderdesk.testing.factories import World

ERROR = "Kajabi answered 503: Service Unavailable ({n}a8b7c6d5)"


@pytest.fixture
def outage(world: World) -> list[Order]:
    config = kajabi_config(world)
    return [failing_order(world, config, ERROR.format(n=n), minutes_ago=60 + n) for n in range(3)]


@pytest.fixture
def api(client: Client, world: World) -> Staff:
    return staff_for(client, world.checkout)


def test_it_lists_the_failure_groups_of_the_tokens_checkout(
    api: Staff, client: Client, world: World, outage: list[Order]
) -> None:
    response = api.get("/attention/groups")
    assert response.status_code == 200
    (group,) = response.data
    assert group["reason"] == "actions"
    assert group["count"] == group["failed"] == 3
    assert group["error"] == "Kajabi answered …: Service Unavailable (…)"
    assert group["label"] == "Grant Kajabi offer: Kajabi answered …: Service Unavailable (…)"
    assert group["example_number"] == outage[0].number
    assert group["config_differs"] is False
    assert group["key"].startswith("actions:")
    other = staff_for(client, world.other_checkout, role=CheckoutRole.VIEWER)
    assert other.get("/attention/groups").data == []


def test_a_job_over_a_group_runs_once_per_key(
    api: Staff, world: World, outage: list[Order]
) -> None:
    key = api.get("/attention/groups").data[0]["key"]
    body = {"verb": "rerun_failed", "group": key}
    first = api.post("/bulk-jobs", body, **{"Idempotency-Key": "api-key-0001"})
    assert first.status_code == 201, first.data
    assert first.data["status"] == "queued"
    assert first.data["total"] == 3
    assert first.data["description"].startswith("Grant Kajabi offer")
    assert first.data["cause"] == key
    again = api.post("/bulk-jobs", body, **{"Idempotency-Key": "api-key-0001"})
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.data["id"] == first.data["id"]
    other = api.post(
        "/bulk-jobs", {**body, "verb": "mark_completed"}, **{"Idempotency-Key": "api-key-0001"}
    )
    assert other.status_code == 409
    assert other.data["code"] == "idempotency_key_reused"
    assert BulkJob.objects.count() == 1

    job_id = first.data["id"]
    run_bulk_job(job_id)
    status = api.get(f"/bulk-jobs/{job_id}")
    assert status.status_code == 200
    assert (status.data["status"], status.data["done"], status.data["percent"]) == (
        "finished",
        3,
        100,
    )
    result = api.get(f"/bulk-jobs/{job_id}/result")
    assert result.status_code == 200
    assert [item["number"] for item in result.data["items"]] == [o.number for o in outage]
    assert {item["outcome"] for item in result.data["items"]} == {"done"}
    assert result.data["reasons"] == []
    for order in outage:
        (event,) = order.events.filter(type=EventType.ACTION_RERUN)
        assert (event.actor_type, event.actor_token) == (ActorType.API_TOKEN, api.token)


def test_a_job_over_numbers_or_filters(api: Staff, world: World, outage: list[Order]) -> None:
    numbers = api.post(
        "/bulk-jobs",
        {"verb": "mark_completed", "numbers": [outage[0].number, 999999]},
        **{"Idempotency-Key": "api-key-0002"},
    )
    assert numbers.status_code == 201
    assert numbers.data["total"] == 1
    filtered = api.post(
        "/bulk-jobs",
        {"verb": "rerun_failed", "filters": {"tab": "attention", "email": "customer@example.com"}},
        **{"Idempotency-Key": "api-key-0003"},
    )
    assert filtered.status_code == 201, filtered.data
    assert filtered.data["total"] == 3
    result = run_bulk_job(numbers.data["id"])
    assert result is not None
    assert result.done == 1


def test_large_jobs_ask_for_the_count(api: Staff, settings: Settings, outage: list[Order]) -> None:
    settings.BULK_CONFIRM_OVER = 2
    body = {"verb": "rerun_failed", "filters": {"tab": "attention"}}
    asked = api.post("/bulk-jobs", body, **{"Idempotency-Key": "api-key-0004"})
    assert asked.status_code == 409
    assert asked.data == {
        "detail": "This job changes 3 orders: send confirm_count 3 to start it.",
        "code": "confirmation_required",
    }
    confirmed = api.post(
        "/bulk-jobs", {**body, "confirm_count": 3}, **{"Idempotency-Key": "api-key-0004"}
    )
    assert confirmed.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"verb": "rerun_failed"}, 400, "invalid_parameters"),
        ({"verb": "rerun_failed", "numbers": [1], "group": "dispute"}, 400, "invalid_parameters"),
        ({"verb": "rerun_failed", "numbers": []}, 400, "invalid_parameters"),
        ({"verb": "rerun_failed", "numbers": [424242]}, 400, "no_orders"),
        ({"verb": "rerun_failed", "group": "actions:9:gone"}, 400, "invalid_parameters"),
        (
            {
                "verb": "rerun_failed",
                "filters": {"date_from": "2026-02-01", "date_to": "2026-01-01"},
            },
            400,
            "invalid_parameters",
        ),
        ({"verb": "refund_everything", "numbers": [1]}, 422, "invalid_input"),
        ({"verb": "rerun_failed", "numbers": [0]}, 422, "invalid_input"),
    ],
)
def test_bad_bodies_change_nothing(
    api: Staff, outage: list[Order], body: dict[str, object], status: int, code: str
) -> None:
    response = api.post("/bulk-jobs", body, **{"Idempotency-Key": "api-key-0005"})
    assert (response.status_code, response.data["code"]) == (status, code), response.data
    assert not BulkJob.objects.exists()


def test_the_key_is_required_and_checked(api: Staff, outage: list[Order]) -> None:
    body = {"verb": "rerun_failed", "numbers": [outage[0].number]}
    assert api.post("/bulk-jobs", body).status_code == 422
    assert api.post("/bulk-jobs", body, **{"Idempotency-Key": "no"}).status_code == 422
    assert not BulkJob.objects.exists()


def test_a_viewer_reads_but_cannot_start_a_job(
    client: Client, api: Staff, world: World, outage: list[Order]
) -> None:
    viewer = staff_for(client, world.checkout, role=CheckoutRole.VIEWER)
    assert viewer.get("/attention/groups").status_code == 200
    refused = viewer.post(
        "/bulk-jobs",
        {"verb": "rerun_failed", "numbers": [outage[0].number]},
        **{"Idempotency-Key": "viewer-key-01"},
    )
    assert (refused.status_code, refused.data["code"]) == (403, "forbidden")
    assert not BulkJob.objects.exists()
    started = api.post(
        "/bulk-jobs",
        {"verb": "rerun_failed", "numbers": [outage[0].number]},
        **{"Idempotency-Key": "api-key-0006"},
    )
    job_id = started.data["id"]
    assert viewer.get(f"/bulk-jobs/{job_id}").status_code == 200
    assert viewer.get(f"/bulk-jobs/{job_id}/result").status_code == 200
    assert not OrderEvent.objects.filter(actor_token=viewer.token).exists()


def test_another_checkouts_job_is_not_found(
    client: Client, api: Staff, world: World, outage: list[Order]
) -> None:
    started = api.post(
        "/bulk-jobs",
        {"verb": "rerun_failed", "numbers": [outage[0].number]},
        **{"Idempotency-Key": "api-key-0007"},
    )
    job_id = started.data["id"]
    other = staff_for(client, world.other_checkout, role=CheckoutRole.ADMIN)
    for path in (f"/bulk-jobs/{job_id}", f"/bulk-jobs/{job_id}/result", "/bulk-jobs/999999"):
        response = other.get(path)
        assert (response.status_code, response.data["code"]) == (404, "not_found")
    # Its numbers are not the other checkout's orders either.
    refused = other.post(
        "/bulk-jobs",
        {"verb": "rerun_failed", "numbers": [outage[0].number]},
        **{"Idempotency-Key": "other-key-01"},
    )
    assert (refused.status_code, refused.data["code"]) == (400, "no_orders")


def test_the_operations_are_in_the_openapi_document(api: Staff) -> None:
    schema = api.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "get" in paths["/api/v1/attention/groups"]
    assert set(paths["/api/v1/bulk-jobs"]["post"]["responses"]) >= {
        "200",
        "201",
        "400",
        "403",
        "409",
    }
    assert "get" in paths["/api/v1/bulk-jobs/{job_id}"]
    assert "get" in paths["/api/v1/bulk-jobs/{job_id}/result"]
