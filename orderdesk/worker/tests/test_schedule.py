from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from orderdesk.actions.services import sweep_actions
from orderdesk.payments.refunds import reconcile_pending_refunds
from orderdesk.recovery.alerts import check_failure_alerts
from orderdesk.recovery.jobs import sweep_bulk_jobs
from orderdesk.reports.rates import refresh_ecb_rates
from orderdesk.reports.rollups import roll_up_all
from orderdesk.worker import schedule
from orderdesk.worker.management.commands import run_worker
from orderdesk.worker.models import ScheduledJob
from orderdesk.worker.schedule import JOBS, Job, run_due_jobs, run_schedule

# A Monday, ten seconds before the ECB refresh's daily slot (15:30 UTC).
START = dt.datetime(2026, 3, 2, 15, 29, 50, tzinfo=dt.UTC)


# The jobs due at every whole minute (the two sweeps run every 30 s, the alerts every minute).
EVERY_MINUTE = ["sweep_actions", "sweep_bulk_jobs", "failure_alerts"]


class Recorder:
    """The real schedule with each job replaced by one that counts its runs."""

    def __init__(self, jobs: Sequence[Job] = JOBS) -> None:
        self.runs: Counter[str] = Counter()
        self.jobs = [dataclasses.replace(job, run=self._runner(job.name)) for job in jobs]

    def _runner(self, name: str) -> Any:
        def run() -> None:
            self.runs[name] += 1

        return run


def test_the_schedule_runs_the_services() -> None:
    assert {job.name: job.run for job in JOBS} == {
        "sweep_actions": sweep_actions,
        "sweep_bulk_jobs": sweep_bulk_jobs,
        "failure_alerts": check_failure_alerts,
        "reconcile_refunds": reconcile_pending_refunds,
        "roll_up_reports": roll_up_all,
        "refresh_ecb_rates": refresh_ecb_rates,
    }


@pytest.mark.django_db
def test_each_job_runs_on_its_schedule() -> None:
    jobs = Recorder().jobs

    with time_machine.travel(START, tick=False) as clock:
        # A new database: everything but the ECB download runs at once.
        assert run_due_jobs(jobs) == [*EVERY_MINUTE, "reconcile_refunds", "roll_up_reports"]
        assert run_due_jobs(jobs) == []

        clock.move_to(START + dt.timedelta(seconds=10))  # 15:30:00, a slot of every job
        assert run_due_jobs(jobs) == [
            *EVERY_MINUTE,
            "reconcile_refunds",
            "roll_up_reports",
            "refresh_ecb_rates",
        ]
        clock.move_to(START + dt.timedelta(seconds=39))
        assert run_due_jobs(jobs) == []
        clock.move_to(START + dt.timedelta(seconds=40))
        assert run_due_jobs(jobs) == ["sweep_actions", "sweep_bulk_jobs"]
        clock.move_to(START + dt.timedelta(minutes=5, seconds=10))  # 15:35:00
        assert run_due_jobs(jobs) == [*EVERY_MINUTE, "reconcile_refunds", "roll_up_reports"]
        clock.move_to(START + dt.timedelta(days=1, seconds=9))
        assert "refresh_ecb_rates" not in run_due_jobs(jobs)
        clock.move_to(START + dt.timedelta(days=1, seconds=10))
        assert "refresh_ecb_rates" in run_due_jobs(jobs)

    ecb = ScheduledJob.objects.get(name="refresh_ecb_rates")
    assert ecb.next_run_at == dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.UTC)
    assert ecb.last_started_at == START + dt.timedelta(days=1, seconds=10)
    assert ecb.last_error == ""


@pytest.mark.django_db
def test_a_worker_that_was_down_runs_a_missed_job_once() -> None:
    recorder = Recorder()

    with time_machine.travel(START, tick=False) as clock:
        run_due_jobs(recorder.jobs)
        clock.move_to(START + dt.timedelta(hours=3))
        run_due_jobs(recorder.jobs)
        run_due_jobs(recorder.jobs)

    assert recorder.runs["sweep_actions"] == 2


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_run_a_job_once_per_interval() -> None:
    recorder = Recorder()
    both_ready = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            both_ready.wait(timeout=10)
            run_due_jobs(recorder.jobs)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(START, tick=False) as clock:
        for moment in (START, START + dt.timedelta(seconds=10)):
            clock.move_to(moment)
            workers = [threading.Thread(target=scheduler) for _ in range(2)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=30)

    assert errors == []
    assert recorder.runs == {
        "sweep_actions": 2,
        "sweep_bulk_jobs": 2,
        "failure_alerts": 2,
        "reconcile_refunds": 2,
        "roll_up_reports": 2,
        "refresh_ecb_rates": 1,
    }


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("the provider is down")

    jobs = [
        Job("broken", broken, every=dt.timedelta(minutes=1)),
        Job("healthy", lambda: ran.append("healthy"), every=dt.timedelta(minutes=1)),
    ]

    with time_machine.travel(START, tick=False) as clock:
        assert run_due_jobs(jobs) == ["broken", "healthy"]
        clock.shift(dt.timedelta(minutes=1))
        assert run_due_jobs(jobs) == ["broken", "healthy"]

    assert ran == ["broken", "healthy", "broken", "healthy"]
    assert ScheduledJob.objects.get(name="broken").last_error == (
        "RuntimeError: the provider is down"
    )
    assert ScheduledJob.objects.get(name="healthy").last_error == ""
    assert "Scheduled job broken failed" in caplog.text


def test_the_scheduler_thread_outlives_errors_and_stops_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    stop = threading.Event()

    def run_due(jobs: Sequence[Job]) -> list[str]:
        calls.append("tick")
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        if len(calls) == 3:
            stop.set()
        return []

    monkeypatch.setattr(schedule, "run_due_jobs", run_due)
    monkeypatch.setattr(schedule, "close_old_connections", lambda: None)
    thread = threading.Thread(target=run_schedule, args=(stop,), kwargs={"tick": 0.01})

    thread.start()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert calls == ["tick", "tick", "tick"]


def test_the_worker_command_runs_the_scheduler_beside_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[threading.Event] = []

    def scheduler(stop: threading.Event) -> None:
        seen.append(stop)
        stop.wait(10)

    monkeypatch.setattr(run_worker, "run_schedule", scheduler)
    monkeypatch.setattr(run_worker.Command, "work_queue", lambda self, *a, **k: None)

    call_command("run_worker", "--no-reload")

    [stop] = seen
    assert stop.is_set(), "the scheduler stops with the worker"
