"""Download the ECB's reference-rate history into ECB_RATES_FILE now (the worker does it daily)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orderdesk.reports.rates import ECB_HISTORY_URL, RefreshFailed, refresh_ecb_rates


class Command(BaseCommand):
    help = (
        "Fetch the European Central Bank's reference rates (the whole history) and replace "
        "ECB_RATES_FILE atomically. The ECB publishes new rates around 16:00 CET on banking "
        "days; running processes pick the new file up by its modification time."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=ECB_HISTORY_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            newest = refresh_ecb_rates(options["url"])
        except RefreshFailed as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"ECB rates up to {newest.isoformat()} saved to {settings.ECB_RATES_FILE}"
        )
