from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from django.utils import timezone

from orderdesk.actions.kinds.kajabi import external_user_id
from orderdesk.actions.models import ActionRun, RunStatus, SnapshotStatus
from orderdesk.actions.services import run_action
from orderdesk.actions.tests.builders import kajabi, paid_order, queued, run_queued, webhook
from orderdesk.actions.tests.conftest import Answer
from orderdesk.catalog.models import ActionKind
from orderdesk.orders.models import ActionHealth, OrderEvent, OrderStatus
from orderdesk.sandboxes.models import SandboxKajabiGrant, SandboxKajabiOffer
from orderdesk.testing.factories import World


def set_mode(key: str, mode: str) -> None:
    SandboxKajabiOffer.objects.update_or_create(key=key, defaults={"mode": mode})


def test_it_grants_the_kajabi_offer_and_completes_the_paid_order(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes, send_offer_grant_email=True, hide_last_name=True)
    order = paid_order(world)
    assert order.action_health == ActionHealth.PENDING

    [run] = run_queued(order)

    assert run is not None
    assert run.status == RunStatus.SUCCEEDED
    assert run.http_status == 200
    assert run.started_at is not None
    assert run.finished_at is not None
    grant = SandboxKajabiGrant.objects.get()
    assert grant.external_user_id == external_user_id(order)
    assert grant.name == "Maija M."
    assert grant.email == "customer@example.com"
    assert grant.grant_email_sent
    snapshot = order.action_snapshots.get()
    assert snapshot.status == SnapshotStatus.SUCCEEDED
    assert snapshot.attempts == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.action_health == ActionHealth.SUCCEEDED
    assert order.events.filter(type="action_succeeded").exists()


def test_it_keeps_the_external_user_id_stable_per_customer(world: World) -> None:
    from orderdesk.testing import factories

    first = factories.order(world, email="maija@example.com")
    second = factories.order(world, email="MAIJA@example.com ")
    other = factories.order(world, email="matti@example.com")

    assert external_user_id(first) == external_user_id(second)
    assert external_user_id(first) != external_user_id(other)


def test_it_fails_at_once_on_a_permanent_error(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes)
    set_mode("masterclass", "invalid_email")
    order = paid_order(world)

    [run] = run_queued(order)

    assert run is not None
    assert run.status == RunStatus.FAILED
    assert run.http_status == 422
    assert run.error_message == "Kajabi answered 422: Email: is invalid"
    assert queued(order) == []
    snapshot = order.action_snapshots.get()
    assert snapshot.status == SnapshotStatus.FAILED
    assert snapshot.last_error == "Kajabi answered 422: Email: is invalid"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.action_health == ActionHealth.FAILED
    event = order.events.get(type="action_failed")
    assert "Email: is invalid" in event.message
    assert event.actor_label == "System"


def test_it_retries_a_transient_error_with_backoff_then_succeeds(
    world: World, sandboxes: str, settings: Any
) -> None:
    kajabi(world, sandboxes)
    set_mode("masterclass", "server_error")
    order = paid_order(world)

    [first] = run_queued(order)

    assert first is not None
    assert first.status == RunStatus.FAILED
    assert first.http_status == 500
    [retry] = queued(order)
    assert retry.attempt == 2
    assert retry.run_after > timezone.now()
    assert run_action(retry.pk) is None, "a retry does not run before its backoff has passed"
    snapshot = order.action_snapshots.get()
    assert snapshot.status == SnapshotStatus.PENDING
    assert snapshot.last_error == "Kajabi answered 500: Internal Server Error"
    order.refresh_from_db()
    assert order.action_health == ActionHealth.PENDING

    set_mode("masterclass", "ok")
    [second] = run_queued(order)

    assert second is not None
    assert second.status == RunStatus.SUCCEEDED
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.SUCCEEDED
    assert snapshot.attempts == 2
    assert snapshot.last_error == ""
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    messages = list(order.events.filter(type="action_failed").values_list("message", flat=True))
    assert messages == [
        "Grant Kajabi offer (offer level) failed (attempt 1 of 5), retrying in 30 s: "
        "Kajabi answered 500: Internal Server Error"
    ]


def test_it_gives_up_after_the_attempt_limit(world: World, answer: Answer, settings: Any) -> None:
    settings.ACTION_MAX_ATTEMPTS = 3
    answer(httpx.ReadTimeout("slow"))
    kajabi(world, "http://kajabi.invalid")
    order = paid_order(world)

    for _ in range(3):
        run_queued(order)

    runs = list(ActionRun.objects.filter(snapshot__order=order).order_by("attempt"))
    assert [(r.attempt, r.status) for r in runs] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert {r.error_message for r in runs} == {"Kajabi did not answer within 15 s"}
    assert queued(order) == []
    snapshot = order.action_snapshots.get()
    assert snapshot.status == SnapshotStatus.FAILED
    assert snapshot.attempts == 3
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.action_health == ActionHealth.FAILED
    assert order.events.filter(
        message="Grant Kajabi offer (offer level) failed after 3 attempts: "
        "Kajabi did not answer within 15 s"
    ).exists()


def test_it_treats_connection_errors_as_transient(world: World, answer: Answer) -> None:
    answer(httpx.ConnectError("Connection refused"))
    kajabi(world, "http://kajabi.invalid")
    order = paid_order(world)

    [run] = run_queued(order)

    assert run is not None
    assert run.error_message == "Could not reach Kajabi: Connection refused"
    assert len(queued(order)) == 1


def test_it_completes_a_paid_order_only_when_every_action_succeeded(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    webhook(world, sandboxes)
    set_mode("masterclass", "invalid_email")
    order = paid_order(world)

    run_queued(order)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.action_health == ActionHealth.FAILED
    assert order.action_snapshots.get(kind=ActionKind.WEBHOOK).status == SnapshotStatus.SUCCEEDED


def test_it_runs_a_claimed_run_only_once(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    [run] = queued(order)

    assert run_action(run.pk) is not None
    assert run_action(run.pk) is None
    assert SandboxKajabiGrant.objects.get().activations == 1


def test_it_lets_another_worker_take_over_a_run_whose_worker_died(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    [run] = queued(order)
    now = timezone.now()
    ActionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=now, claimed_until=now + dt.timedelta(minutes=1)
    )
    assert run_action(run.pk) is None, "the lease is still held"

    ActionRun.objects.filter(pk=run.pk).update(claimed_until=now - dt.timedelta(seconds=1))
    taken = run_action(run.pk)

    assert taken is not None
    assert taken.status == RunStatus.SUCCEEDED
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


@pytest.mark.parametrize("mode", ["ok", "invalid_email"])
def test_it_records_an_event_per_outcome_with_the_run(
    world: World, sandboxes: str, mode: str
) -> None:
    kajabi(world, sandboxes)
    set_mode("masterclass", mode)
    order = paid_order(world)

    [run] = run_queued(order)

    event = OrderEvent.objects.filter(order=order, type__startswith="action_").get()
    assert run is not None
    assert event.data["run_id"] == run.pk
    assert event.data["http_status"] == run.http_status
