"""Ask the providers about refunds left pending, now (the worker does it every 5 minutes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orderdesk.payments.services import reconcile_pending_refunds


class Command(BaseCommand):
    help = "Settle refunds still pending with their provider (timeouts, lost callbacks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=120,
            help="Only refunds pending for at least this many seconds (default 120).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settled = reconcile_pending_refunds(older_than=timedelta(seconds=options["older_than"]))
        self.stdout.write(f"{settled} refund(s) settled")
