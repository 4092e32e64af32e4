"""Bring the reports' rollups up to date, daily and hourly (the worker also does this every
few minutes). Also the backfill of the hourly rollup after migration reports.0004 and of
the hours' parts after reports.0005."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orderdesk.organizations.models import Checkout
from orderdesk.reports import rollups
from orderdesk.reports.models import SalesHour, SalesHourPart


class Command(BaseCommand):
    help = (
        "Add every settled day (and UTC hour) the reports' rollups lack, per checkout. With "
        "--rebuild, throw the rollups away and build them again from the orders (after "
        "loading orders in bulk)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("--checkout", dest="slugs", action="append", metavar="SLUG")

    def handle(self, *args: Any, **options: Any) -> None:
        checkouts = Checkout.objects.select_related("organization").order_by("pk")
        if options["slugs"]:
            checkouts = checkouts.filter(slug__in=options["slugs"])
            if not checkouts:
                raise CommandError("No checkout has any of those slugs.")
        verb = rollups.rebuild if options["rebuild"] else rollups.roll_up
        for checkout in checkouts:
            started = time.monotonic()
            days = verb(checkout)
            hours = SalesHour.objects.filter(checkout=checkout).count()
            parts = SalesHourPart.objects.filter(checkout=checkout).count()
            self.stdout.write(
                f"{checkout.organization.slug}/{checkout.slug}: {days} day(s) rolled up"
                f" in {time.monotonic() - started:.1f} s; {hours:,} hourly rows,"
                f" {parts:,} rows of their parts"
            )
