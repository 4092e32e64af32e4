"""Check on a big database that reports read from the daily rollup equal reports read live.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/verify_rollup.py

For the biggest checkout, every report tab for "last 30 days" and "this year", per currency and
converted to EUR, is computed twice: as the page computes it (rollup for settled days, live
tables for the rest) and from the live tables alone. That in the organization's time zone (the
daily rollup) and in other zones, which read the hourly rollup: America/New_York, Asia/Kolkata
(+5:30), Asia/Kathmandu (+5:45) and Australia/Lord_Howe (a half-hour DST change), where a
midnight cuts a UTC hour and the hour's parts (`SalesHourPart`) split it, plus two
weeks around a DST change (America/New_York on 1 November, Lord Howe on 4 October) by day.
Where those zones' own days are rolled up (`ZoneDay`: a member's zone; `bench/reports.py
--tz ZONE` builds them), every figure is compared again as read from them.
Charts go by day for the short periods and by month for "this year". Money is compared in minor units of its
currency (converted sums may differ in the twentieth decimal from the order of additions,
never in what is shown). Exits non-zero on any difference. Writes nothing (but a zone's
`ZoneRollup.asked_at`, as any report in it would).
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

import datetime as dt  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from django.utils import timezone  # noqa: E402

from bench.common import biggest_checkout  # noqa: E402
from orderdesk.lib.money import to_minor  # noqa: E402
from orderdesk.reports import facts, queries  # noqa: E402
from orderdesk.reports.facts import Facts, HourFacts, LiveFacts, RolledFacts  # noqa: E402
from orderdesk.reports.models import ZoneRollup  # noqa: E402
from orderdesk.reports.periods import Period, resolve_period  # noqa: E402
from orderdesk.reports.rates import Converter  # noqa: E402


def shown(value: Any) -> Any:
    """Make figures comparable as shown: money rounded to minor units, containers walked."""
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    if isinstance(value, queries.Figures):
        return shown(
            (
                value.revenue,
                value.orders,
                dict(value.orders_by_currency),
                value.opened,
                value.refunds,
                value.aov,
                value.conversion_rate,
            )
        )
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def figures(scope: queries.Scope, valuation: queries.Valuation, granularity: str) -> dict[str, Any]:
    tracking = queries.sales_tracking(scope, valuation, granularity)
    products = queries.product_sales(scope, valuation)
    analytics = queries.analytics(scope, valuation, granularity)

    def money(m: dict[str, Decimal]) -> dict[str, int]:
        return {c: to_minor(a, c) for c, a in m.items()}

    return {
        "headline": shown(queries.headline_figures(scope, valuation)),
        "sales": shown(
            [
                (r.key, r.figures, {d: money(valuation.total(s)) for d, s in r.series.items()})
                for b in (tracking.sources, tracking.links, tracking.offers)
                for r in b.rows
            ]
        ),
        "products": shown(
            [
                (p.name, p.figures, p.add_on_revenue, p.top_offer, p.top_source)
                for p in products.products
            ]
        ),
        "add-ons": shown(
            [(a.name, a.orders_with, a.offer_orders, a.revenue) for a in products.add_ons]
        ),
        "international": shown(
            [(c.country, c.figures, c.regions) for c in queries.international(scope, valuation)]
        ),
        "analytics": shown(
            (
                analytics.consent.counts,
                analytics.devices.counts,
                [(d.device, d.opened, d.orders) for d in analytics.device_rows],
                [(m.provider, m.method, m.figures) for m in analytics.methods],
            )
        ),
        # Already in minor units: compared exactly.
        "vat": queries.vat_report(scope, valuation),
    }


def live_scope(checkout_ids: frozenset[int], period: Period) -> queries.Scope:
    scope = queries.Scope(checkout_ids, period)
    # Scope.facts is a cached property: set it to the live tables alone.
    scope.__dict__["facts"] = Facts((LiveFacts(checkout_ids, period.start, period.end, period.tz),))
    return scope


ZONES = ("America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe")
# Two weeks around a DST change, by day.
DST = {
    "America/New_York": (dt.date(2026, 10, 25), dt.date(2026, 11, 7)),
    "Australia/Lord_Howe": (dt.date(2026, 9, 28), dt.date(2026, 10, 11)),
}


def main() -> int:
    checkout = biggest_checkout()
    checkout_id = checkout.pk
    org_tz = checkout.organization.time_zone
    ids = frozenset({checkout_id})
    failures = 0
    for zone in (org_tz, *ZONES):
        tz = ZoneInfo(zone)
        today = timezone.now().astimezone(tz).date()
        periods = [
            ("last_30_days", resolve_period("last_30_days", today=today, tz=tz), "day"),
            ("this_year", resolve_period("this_year", today=today, tz=tz), "month"),
        ]
        if zone in DST:
            periods.append(("DST change", Period(*DST[zone], tz), "day"))
        sources = ["daily rollup"] if zone == org_tz else ["hours"]
        built = ZoneRollup.objects.filter(
            checkout_id=checkout_id, time_zone=zone, complete_until__isnull=False
        )
        if zone != org_tz and built.exists():
            sources.append("zone days")
        for source in sources:
            for name, period, granularity in periods:
                for currency in ("", "EUR"):
                    failures += compare(ids, zone, source, name, period, granularity, currency)
    return 1 if failures else 0


def compare(
    ids: frozenset[int],
    zone: str,
    source: str,
    name: str,
    period: Period,
    granularity: str,
    currency: str,
) -> int:
    """Every tab's figures as the page reads them from `source` against the live tables';
    returns how many tabs differ."""
    paged = queries.Scope(ids, period)
    wanted = {"daily rollup": RolledFacts, "hours": HourFacts, "zone days": RolledFacts}[source]
    real_zone_facts = facts._zone_facts
    if source == "hours":
        facts._zone_facts = lambda *args: None
    try:
        parts = paged.facts.parts
    finally:
        facts._zone_facts = real_zone_facts
    assert any(isinstance(p, wanted) for p in parts), (
        "no rollup: run manage.py roll_up_reports first"
    )
    if source == "zone days":
        assert any(getattr(p, "zone", None) == zone for p in parts), "no zone days read"
    # The hours a midnight cuts at :15 or :30 come from their parts, not live.
    assert all(p.parts_until is not None for p in parts if isinstance(p, HourFacts)), (
        "no parts of the hours: run manage.py roll_up_reports first"
    )
    valuation = queries.Valuation(Converter(currency) if currency else None)
    rolled = figures(paged, valuation, granularity)
    live = figures(live_scope(ids, period), valuation, granularity)
    failures = 0
    for tab in rolled:
        same = rolled[tab] == live[tab]
        failures += not same
        mode = f"converted to {currency}" if currency else "per currency"
        print(
            f"{zone:20} {source:12} {name:13} by {granularity:5} {mode:20} {tab:14} "
            f"{'same' if same else 'DIFFERENT'}",
            flush=True,
        )
    return failures

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
