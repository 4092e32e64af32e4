"""`manage.py run_worker`: the task worker that production and the demo run (no cron needed)."""

from __future__ import annotations

import logging
import os
import threading
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.tasks import task_backends
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_rq import RQBackend

from orderdesk.worker import redis_queue
from orderdesk.worker.schedule import run_schedule

logger = logging.getLogger(__name__)


def backend_alias(name: str) -> str:
    if name not in settings.TASKS:
        raise ArgumentTypeError(f"{name!r} is not a backend of TASKS")
    return name


class Command(DbWorkerCommand):
    help = (
        "Runs the background tasks of the configured backend (TASKS_BACKEND: django-tasks-db's "
        "db_worker, or an RQ worker on Redis), plus the schedule of periodic work in a second "
        "thread: the sweep of stalled action runs, refund reconciliation, the reports' rollup "
        "and the daily ECB rates. Run any number of workers; each job runs once per interval."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # db_worker accepts only its own backend; this command works Redis's as well.
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = backend_alias

    def handle(self, *args: Any, **options: Any) -> None:
        on_redis = isinstance(task_backends[options["backend_name"]], RQBackend)
        if on_redis and options["reload"]:
            # RQ's worker sets signal handlers, which only the main thread may, and the
            # autoreloader runs the command in another thread.
            logger.info("The Redis worker does not reload on code changes; restart it.")
            options["reload"] = False
        stop = threading.Event()
        scheduler = threading.Thread(
            target=run_schedule, args=(stop,), name="scheduler", daemon=True
        )
        # With --reload the work happens in a child process, which runs its own scheduler.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            scheduler.start()
        try:
            self.work_queue(on_redis, *args, **options)
        finally:
            stop.set()
            # A waiting scheduler ends at once; a job still running is cut off at exit like a
            # crash (the next slot comes anyway) rather than holding the shutdown up.
            if scheduler.is_alive():
                scheduler.join(timeout=5)

    def work_queue(self, on_redis: bool, *args: Any, **options: Any) -> None:
        """Take tasks from the queue until stopped (with --batch, until it is empty)."""
        if on_redis:
            self.work_on_redis(options)
        else:
            super().handle(*args, **options)

    def work_on_redis(self, options: dict[str, Any]) -> None:
        self.configure_logging(options["verbosity"])
        names = options["queue_name"].split(",")
        if "*" in names:
            excluded = set(filter(None, options["exclude_queues"].split(",")))
            names = sorted(set(task_backends[options["backend_name"]].queues) - excluded)
        redis_queue.work(
            names,
            burst=options["batch"],
            max_jobs=options["max_tasks"],
            name=options["worker_id"],
        )
