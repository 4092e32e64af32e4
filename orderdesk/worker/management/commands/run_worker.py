from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from orderdesk.actions.services import sweep_actions
from orderdesk.reports.rollups import roll_up_all

logger = logging.getLogger(__name__)


def _sweep() -> None:
    if count := sweep_actions():
        logger.info("Swept %d action run(s) back into the queue", count)


def _roll_up() -> None:
    if days := roll_up_all():
        logger.info("Rolled up %d day(s) of report figures", days)


def housekeeping(jobs: list[tuple[Callable[[], None], float]], stop: threading.Event) -> None:
    """Run each job every so many seconds until `stop` is set; a failing job is logged and
    tried again at its next turn."""
    due = [time.monotonic() for _ in jobs]  # each job runs once at start
    while not stop.wait(max(0.0, min(due) - time.monotonic())):
        for i, (job, every) in enumerate(jobs):
            if time.monotonic() < due[i]:
                continue
            try:
                close_old_connections()
                job()
            except Exception:
                logger.exception("Housekeeping job %s failed", job.__name__)
            finally:
                connection.close()
            due[i] = time.monotonic() + every


class Command(DbWorkerCommand):
    help = (
        "django-tasks-db's db_worker, plus housekeeping: a periodic sweep of action runs whose "
        "worker died, and the reports' daily rollup."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--sweep-every", type=float, default=30.0, help="Seconds between sweeps (default 30)."
        )
        parser.add_argument(
            "--roll-up-every",
            type=float,
            default=300.0,
            help="Seconds between report rollups (default 300).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        jobs = [(_sweep, options.pop("sweep_every")), (_roll_up, options.pop("roll_up_every"))]
        thread = threading.Thread(target=housekeeping, args=(jobs, stop), daemon=True)
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
