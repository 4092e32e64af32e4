from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orderdesk.actions.services import sweep_actions


class Command(BaseCommand):
    help = (
        "Enqueue post-purchase action runs that are due but have no live worker, now "
        "(the worker does this every 30 seconds)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = sweep_actions()
        self.stdout.write(f"Enqueued {count} action run(s)")
