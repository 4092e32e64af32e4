"""Bulk-generate realistic orders, e.g. a million into PostgreSQL for the benchmarks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from orderdesk.demo.catalog import ensure_demo_catalog
from orderdesk.demo.generator import OrderGenerator
from orderdesk.organizations.models import Checkout
from orderdesk.reports import rollups
from orderdesk.sandboxes.seed import register_payments


class Command(BaseCommand):
    help = (
        "Generate orders over the last 13 months with lines, tags, payment attempts, action "
        "snapshots and runs, events and refunds. Without --checkout-slug the orders go to the "
        "demo organization's checkouts (created if missing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders", type=int, default=1000, help="How many orders (default 1000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--checkout-slug",
            action="append",
            dest="checkout_slugs",
            help="Generate for this checkout; repeat for several. Default: the demo checkouts.",
        )
        parser.add_argument("--months", type=int, default=13, help="Period to spread orders over.")
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument(
            "--no-analyze",
            action="store_true",
            help="Skip VACUUM ANALYZE at the end (PostgreSQL only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["orders"]
        if count < 1:
            raise CommandError("--orders must be at least 1")
        checkouts = self._checkouts(options["checkout_slugs"])
        generator = OrderGenerator(
            checkouts, seed=options["seed"], now=timezone.now(), months=options["months"]
        )
        names = ", ".join(c.slug for c in checkouts)
        self.stdout.write(f"Generating {count:,} orders for {names} (seed {options['seed']})")

        result = generator.generate(
            count,
            batch_size=options["batch_size"],
            # Past this size, building indexes once after the load beats maintaining them.
            drop_indexes=count >= 100_000,
            progress=lambda line: self.stdout.write(f"  {line}"),
        )
        for model, rows in result.rows.items():
            self.stdout.write(f"  {model:<16} {rows:>12,} rows")
        self.stdout.write(
            self.style.SUCCESS(f"Generated {count:,} orders in {result.seconds:.1f} s")
        )
        if connection.vendor == "postgresql" and not options["no_analyze"]:
            started = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(f"VACUUM ANALYZE took {seconds:.1f} s")
        # With the local sandboxes on, they learn these payments, so refunds can go through them.
        if registered := register_payments(checkouts):
            self.stdout.write(f"  {registered:,} payments registered at the provider sandboxes")
        # The orders went into past days, which the reports' rollup may hold already.
        for checkout in checkouts:
            started = timezone.now()
            days = rollups.rebuild(checkout)
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(f"  report rollup of {checkout.slug}: {days} days in {seconds:.1f} s")

    def _checkouts(self, slugs: list[str] | None) -> list[Checkout]:
        if not slugs:
            org = ensure_demo_catalog(site_url=settings.SITE_URL)
            return list(Checkout.objects.filter(organization=org).order_by("pk"))
        checkouts = []
        for slug in slugs:
            found = list(Checkout.objects.filter(slug=slug))
            if not found:
                raise CommandError(f"No checkout with slug {slug!r}")
            if len(found) > 1:
                raise CommandError(f"Several organizations have a checkout {slug!r}")
            checkouts.append(found[0])
        return checkouts
