"""A report tab's read model: only the chosen tab's part, the headline and what it compares with,
and breakdown series over every bucket of the period."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from orderdesk.lib.money import to_major
from orderdesk.reports.params import ReportParams, Tab
from orderdesk.reports.periods import Period, Preset
from orderdesk.reports.tabs import tab_report
from orderdesk.testing import factories

UTC = ZoneInfo("UTC")


def params(tab: str, preset: str = Preset.LAST_7_DAYS, days: int = 7) -> ReportParams:
    today = timezone.now().astimezone(UTC).date()
    period = Period(today - dt.timedelta(days=days - 1), today, UTC)
    return ReportParams(
        preset=preset,
        period=period,
        granularity="day",
        currency="",
        tab=tab,
        auto_granularity=True,
    )


@pytest.mark.parametrize("tab", Tab.values)
def test_only_the_chosen_tab_is_read(world: factories.World, tab: str) -> None:
    factories.order(world, created_at=timezone.now() - dt.timedelta(days=1))

    report = tab_report(frozenset({world.checkout.pk}), params(tab))

    parts = {
        Tab.SALES: report.sales,
        Tab.PRODUCTS: report.products,
        Tab.INTERNATIONAL: report.international,
        Tab.ANALYTICS: report.analytics,
        Tab.VAT: report.vat,
    }
    assert [name for name, part in parts.items() if part is not None] == [tab]
    assert report.headline.current.orders == 1
    assert report.headline.previous is not None
    assert report.previous_period == report.params.period.previous()


def test_all_time_compares_with_nothing(world: factories.World) -> None:
    report = tab_report(frozenset({world.checkout.pk}), params(Tab.INTERNATIONAL, Preset.ALL_TIME))

    assert (report.headline.previous, report.previous_period) == (None, None)


def test_a_breakdown_row_has_figures_in_every_bucket(world: factories.World) -> None:
    order = factories.order(world, created_at=timezone.now() - dt.timedelta(days=2))

    report = tab_report(frozenset({world.checkout.pk}), params(Tab.SALES))

    assert report.sales is not None
    (row,) = report.sales.sources.rows
    points = row.bucket_figures
    assert [p.bucket for p in points] == report.sales.sources.buckets
    assert len(points) == 7
    assert [(p.orders, p.revenue) for p in points if p.orders] == [
        (1, {"EUR": to_major(order.total_minor, "EUR")})
    ]
    assert sum(not p.revenue for p in points) == 6


@pytest.mark.time_machine(dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC), tick=False)
def test_this_year_is_compared_with_the_same_dates_last_year(world: factories.World) -> None:
    # In the same dates last year, and after them (which a window of 339 days before
    # 1 January would have counted instead).
    factories.order(world, created_at=dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC))
    factories.order(world, created_at=dt.datetime(2025, 12, 20, 12, tzinfo=dt.UTC))
    factories.order(world, created_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    this_year = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 5), UTC)
    report = tab_report(
        frozenset({world.checkout.pk}),
        ReportParams(
            preset=Preset.THIS_YEAR,
            period=this_year,
            granularity="month",
            currency="",
            tab=Tab.PRODUCTS,
            auto_granularity=True,
        ),
    )

    assert report.previous_period == Period(dt.date(2025, 1, 1), dt.date(2025, 12, 5), UTC)
    assert report.headline.previous is not None
    assert (report.headline.current.orders, report.headline.previous.orders) == (1, 1)
