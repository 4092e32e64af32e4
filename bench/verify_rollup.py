"""Check on a big database that reports read from the daily rollup equal reports read live.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/verify_rollup.py

For the biggest checkout, every report tab for "last 30 days" and "this year", per currency and
converted to EUR, is computed twice: as the page computes it (rollup for settled days, live
tables for the rest) and from the live tables alone. Money is compared in minor units of its
currency (converted sums may differ in the twentieth decimal from the order of additions,
never in what is shown). Exits non-zero on any difference. Writes nothing.
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

from zoneinfo import ZoneInfo  # noqa: E402

from django.utils import timezone  # noqa: E402

from bench.common import biggest_checkout  # noqa: E402
from orderdesk.lib.money import to_minor  # noqa: E402
from orderdesk.reports import queries  # noqa: E402
from orderdesk.reports.facts import Facts, LiveFacts, RolledFacts  # noqa: E402
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


def figures(scope: queries.Scope, valuation: queries.Valuation) -> dict[str, Any]:
    tracking = queries.sales_tracking(scope, valuation, "week")
    products = queries.product_sales(scope, valuation)
    analytics = queries.analytics(scope, valuation, "week")

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


def main() -> int:
    checkout = biggest_checkout()
    checkout_id = checkout.pk
    tz = ZoneInfo(checkout.organization.time_zone)
    today = timezone.now().astimezone(tz).date()
    ids = frozenset({checkout_id})
    failures = 0
    for preset in ("last_30_days", "this_year"):
        period = resolve_period(preset, today=today, tz=tz)
        for currency in ("", "EUR"):
            paged = queries.Scope(ids, period)
            assert any(isinstance(p, RolledFacts) for p in paged.facts.parts), (
                "no rollup: run manage.py roll_up_reports first"
            )
            rolled = figures(paged, queries.Valuation(Converter(currency) if currency else None))
            live = figures(
                live_scope(ids, period),
                queries.Valuation(Converter(currency) if currency else None),
            )
            for tab in rolled:
                same = rolled[tab] == live[tab]
                failures += not same
                mode = f"converted to {currency}" if currency else "per currency"
                print(f"{preset:13} {mode:20} {tab:14} {'same' if same else 'DIFFERENT'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
