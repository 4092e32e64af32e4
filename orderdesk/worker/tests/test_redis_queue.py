"""The task queue on Redis (`TASKS_BACKEND=redis`): what `.ci/run` runs against a real Redis.

Skipped in `make test`, whose queue is the database's; `.ci/run` runs these with the actions
and refunds tests once more with `TASKS_BACKEND=redis` and a Redis database of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import django_rq
import httpx
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from orderdesk.actions.models import ActionRun, RunStatus
from orderdesk.actions.services import sweep_actions
from orderdesk.actions.tests.builders import kajabi, paid_order, queued
from orderdesk.sandboxes.models import SandboxKajabiGrant
from orderdesk.testing import factories
from orderdesk.worker.management.commands import run_worker
from orderdesk.worker.schedule import run_due_jobs

# Redis holds the queue, outside the test database's transactions: each test commits.
pytestmark = [
    pytest.mark.skipif(
        not settings.TASKS_ON_REDIS, reason="the task queue is not on Redis (TASKS_BACKEND)"
    ),
    pytest.mark.django_db(transaction=True),
]

# actions/tests/conftest.py's fixtures: the sandboxes in-process, and scripted answers.
pytest_plugins = ["orderdesk.actions.tests.conftest"]


@pytest.fixture(autouse=True)
def queue() -> Iterator[Any]:
    """The default queue, empty before and after each test."""
    rq = django_rq.get_queue("default")

    def empty() -> None:
        rq.empty()  # type: ignore[no-untyped-call]
        for job_id in rq.scheduled_job_registry.get_job_ids():
            rq.scheduled_job_registry.remove(job_id, delete_job=True)

    empty()
    yield rq
    empty()


def work() -> None:
    """One worker until the queue is empty, as `run_worker` runs it, without its schedule."""
    call_command("run_worker", "--batch", "--no-reload", verbosity=0)


@pytest.fixture(autouse=True)
def _no_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_worker, "run_schedule", lambda stop: None)


def test_a_paid_orders_actions_go_through_redis_to_the_worker(
    world: factories.World, sandboxes: str, queue: Any
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    [run] = queued(order)
    [job] = queue.get_jobs()
    assert job.args == (run.pk,), "enqueued in Redis after the commit, not run here"

    work()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert SandboxKajabiGrant.objects.count() == 1
    assert queue.count == 0


def test_a_retry_waits_in_redis_until_its_backoff_has_passed(
    world: factories.World, answer: Any, settings: Any, queue: Any
) -> None:
    settings.ACTION_RETRY_BASE_SECONDS = 1
    sent = answer(httpx.Response(503), httpx.Response(200, json={"status": "granted"}))
    kajabi(world, "http://kajabi.invalid")
    order = paid_order(world)

    work()

    [retry] = queued(order)
    assert retry.attempt == 2
    [job_id] = queue.scheduled_job_registry.get_job_ids()
    due = queue.scheduled_job_registry.get_scheduled_time(job_id)
    assert abs(due - retry.run_after) < dt.timedelta(seconds=1)
    assert len(sent) == 1, "the retry is not run before it is due"

    time.sleep(max(0.0, (retry.run_after - timezone.now()).total_seconds()) + 0.5)
    work()

    retry.refresh_from_db()
    assert retry.status == RunStatus.SUCCEEDED
    assert len(sent) == 2


def test_the_sweep_hands_a_run_whose_worker_died_to_the_redis_queue(
    world: factories.World, sandboxes: str, queue: Any
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    queue.empty()  # the worker that took it died
    [run] = queued(order)
    past = timezone.now() - dt.timedelta(minutes=5)
    ActionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=past, claimed_until=past
    )

    assert sweep_actions() == 1
    assert queue.count == 1
    work()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_the_worker_on_redis_runs_the_schedule_beside_the_queue(
    world: factories.World, sandboxes: str, monkeypatch: pytest.MonkeyPatch, queue: Any
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    [run] = queued(order)
    ActionRun.objects.filter(pk=run.pk).update(run_after=timezone.now() - dt.timedelta(hours=1))
    queue.empty()  # lost: the schedule's sweep must enqueue it again
    ran: list[list[str]] = []
    swept = threading.Event()

    def schedule(stop: threading.Event) -> None:
        ran.append(run_due_jobs())
        swept.set()
        stop.wait(10)

    monkeypatch.setattr(run_worker, "run_schedule", schedule)
    assert swept.wait(0) is False
    # The first worker's schedule sweeps the lost run into Redis; the next worker runs it.
    call_command("run_worker", "--batch", "--no-reload", verbosity=0)
    assert swept.is_set()
    assert "sweep_actions" in ran[0]
    work()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
