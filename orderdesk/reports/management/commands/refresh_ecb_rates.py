"""Download the ECB's full reference-rate history into ECB_RATES_FILE (run daily)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

ECB_HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"


class Command(BaseCommand):
    help = (
        "Fetch the European Central Bank's reference rates (the whole history) and replace "
        "ECB_RATES_FILE atomically. The ECB publishes new rates around 16:00 CET on banking "
        "days; running processes pick the new file up by its modification time."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default=ECB_HISTORY_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        from currency_converter import CurrencyConverter

        target = Path(settings.ECB_RATES_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            response = httpx.get(options["url"], timeout=60, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise CommandError(f"Could not download the ECB rates: {error}") from error
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(response.content)
            # Parse before replacing: a broken download must never replace a good file.
            check = CurrencyConverter(temporary)
            if "USD" not in check.currencies:
                raise CommandError("The downloaded file has no USD rates; keeping the old file.")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        newest = check.bounds["USD"].last_date
        self.stdout.write(f"ECB rates up to {newest.isoformat()} saved to {target}")
