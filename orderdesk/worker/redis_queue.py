"""The worker's queue on Redis: django-tasks-rq's jobs, run by an RQ worker in this process.

Chosen by `TASKS_BACKEND=redis` (settings); `run_worker` calls `work` instead of
django-tasks-db's loop, and runs the same schedule of periodic work beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_rq
from django.db import close_old_connections
from django_tasks_rq.backend import Job
from rq import SimpleWorker


class Worker(SimpleWorker):
    """RQ's worker that runs each job in its own process, as django-tasks-db's does.

    RQ's default worker forks a child per job, which costs a new PostgreSQL connection each
    time and would hand the child the parent's open connections. This one keeps its
    connection between jobs and, like Django around a request, drops it when it is broken or
    older than `DB_CONN_MAX_AGE`.
    """

    def execute_job(self, job: Any, queue: Any) -> None:
        close_old_connections()
        try:
            super().execute_job(job, queue)
        finally:
            close_old_connections()


def work(
    queue_names: Sequence[str], *, burst: bool, max_jobs: int | None, name: str | None
) -> None:
    """Take jobs from the queues until stopped (or, with `burst`, until they are empty).

    RQ's scheduler runs in the worker too: it moves deferred jobs (an action's retry after its
    backoff) to their queue when due; of several workers, one holds its lock at a time.
    """
    # django-rq types worker_class as rq's forking Worker; any BaseWorker works.
    worker = django_rq.get_worker(
        *queue_names,
        job_class=Job,
        worker_class=Worker,  # type: ignore[arg-type]
        name=name or None,
    )
    worker.work(with_scheduler=True, burst=burst, max_jobs=max_jobs)
