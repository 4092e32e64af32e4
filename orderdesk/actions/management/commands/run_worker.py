from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from orderdesk.actions.services import sweep_actions

logger = logging.getLogger(__name__)


def sweep_forever(every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            close_old_connections()
            if count := sweep_actions():
                logger.info("Swept %d action run(s) back into the queue", count)
        except Exception:
            logger.exception("Sweeping action runs failed")
        finally:
            connection.close()


class Command(DbWorkerCommand):
    help = "django-tasks-db's db_worker, plus a periodic sweep of action runs whose worker died."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--sweep-every", type=float, default=30.0, help="Seconds between sweeps (default 30)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        sweeper = threading.Thread(
            target=sweep_forever, args=(options.pop("sweep_every"), stop), daemon=True
        )
        sweeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
