"""`manage.py run_worker`: the task worker that production and the demo run (no cron needed)."""

from __future__ import annotations

import os
import threading
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from orderdesk.worker.schedule import run_schedule


class Command(DbWorkerCommand):
    help = (
        "django-tasks-db's db_worker, plus the schedule of periodic work in a second thread: "
        "the sweep of stalled action runs, refund reconciliation, the reports' rollup and the "
        "daily ECB rates. Run any number of workers; each job runs once per interval."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        scheduler = threading.Thread(
            target=run_schedule, args=(stop,), name="scheduler", daemon=True
        )
        # With --reload the work happens in a child process, which runs its own scheduler.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            scheduler.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            # A waiting scheduler ends at once; a job still running is cut off at exit like a
            # crash (the next slot comes anyway) rather than holding the shutdown up.
            if scheduler.is_alive():
                scheduler.join(timeout=5)
