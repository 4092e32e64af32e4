from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from orderdesk.actions import services
from orderdesk.actions.models import ActionRun, RunStatus
from orderdesk.actions.services import schedule_actions, snapshot_actions, sweep_actions
from orderdesk.actions.tests.builders import kajabi, paid_order, queued
from orderdesk.orders.models import OrderStatus
from orderdesk.sandboxes.models import SandboxKajabiGrant
from orderdesk.testing import factories
from orderdesk.testing.factories import World

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_it_runs_the_actions_after_the_payment_commits(
    world: World, sandboxes: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = IMMEDIATE
    kajabi(world, sandboxes)
    order = factories.order(world, status=OrderStatus.PAID)
    snapshot_actions(order)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        schedule_actions(order)
    assert not SandboxKajabiGrant.objects.exists(), "nothing runs before the commit"
    for callback in callbacks:
        callback()

    assert SandboxKajabiGrant.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


@pytest.mark.skipif(
    django_settings.TASKS_ON_REDIS,
    reason="the tasks were built by the Redis backend's task class when this process started; "
    "worker/tests/test_redis_queue.py covers retries there",
)
def test_it_enqueues_retries_for_later_on_the_database_backend(
    world: World, answer: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from orderdesk.actions.services import run_action

    settings.TASKS = DATABASE
    answer(httpx.Response(503))
    kajabi(world, "http://kajabi.invalid")
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order(world)
    [run] = queued(order)
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [run.pk], "kwargs": {}}

    with django_capture_on_commit_callbacks(execute=True):
        run_action(run.pk)

    [retry] = queued(order)
    deferred = DBTaskResult.objects.exclude(pk=task.pk).get()
    assert deferred.run_after == retry.run_after
    assert deferred.args_kwargs["args"] == [retry.pk]


def test_it_sweeps_runs_whose_worker_died(world: World, sandboxes: str, settings: Any) -> None:
    settings.TASKS = IMMEDIATE
    kajabi(world, sandboxes)
    order = paid_order(world)
    [run] = queued(order)
    past = timezone.now() - dt.timedelta(minutes=5)
    ActionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=past, claimed_until=past
    )

    assert sweep_actions() == 1

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert sweep_actions() == 0


def test_it_sweeps_queued_runs_nobody_took(world: World, sandboxes: str, settings: Any) -> None:
    settings.TASKS = IMMEDIATE
    kajabi(world, sandboxes)
    order = paid_order(world)
    fresh = timezone.now()
    [run] = queued(order)
    ActionRun.objects.filter(pk=run.pk).update(run_after=fresh)
    assert sweep_actions() == 0, "a worker may still pick up a run that just became due"

    ActionRun.objects.filter(pk=run.pk).update(run_after=fresh - dt.timedelta(minutes=5))
    call_command("sweep_actions", stdout=open("/dev/null", "w"))  # noqa: SIM115

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_it_never_runs_a_retry_before_it_is_due_on_a_backend_that_cannot_defer(
    world: World,
    answer: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The immediate backend runs what is enqueued at once: a retry due later must be left
    # to the sweep, never handed to the task (whose claim would merely refuse it).
    settings.TASKS = IMMEDIATE
    answer(httpx.Response(503))
    kajabi(world, "http://kajabi.invalid")
    handed: list[int] = []
    run_action = services.run_action

    def spy(run_id: int) -> ActionRun | None:
        handed.append(run_id)
        return run_action(run_id)

    monkeypatch.setattr(services, "run_action", spy)  # what the task calls

    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order(world)

    [first] = ActionRun.objects.filter(snapshot__order=order, attempt=1)
    [retry] = queued(order)
    assert (first.status, retry.attempt) == (RunStatus.FAILED, 2)
    assert retry.run_after > timezone.now()
    assert handed == [first.pk]


def test_it_schedules_the_actions_when_a_payment_succeeds(
    world: World, sandboxes: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from orderdesk.orders.events import Actor
    from orderdesk.payments.services import record_payment_result

    settings.TASKS = IMMEDIATE
    kajabi(world, sandboxes)
    order = factories.order(world, status=OrderStatus.PROCESSING)
    snapshot_actions(order)

    with django_capture_on_commit_callbacks(execute=True):
        record_payment_result(
            order.payment_attempts.get(), succeeded=True, actor=Actor.provider("stripe")
        )

    assert SandboxKajabiGrant.objects.count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
