from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from orderdesk.reports.periods import (
    Granularity,
    Period,
    Preset,
    buckets,
    comparison_period,
    default_granularity,
    resolve_period,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
TODAY = dt.date(2026, 3, 18)


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        (Preset.TODAY, "2026-03-18", "2026-03-18"),
        (Preset.YESTERDAY, "2026-03-17", "2026-03-17"),
        (Preset.LAST_7_DAYS, "2026-03-12", "2026-03-18"),
        (Preset.LAST_30_DAYS, "2026-02-17", "2026-03-18"),
        (Preset.THIS_MONTH, "2026-03-01", "2026-03-18"),
        (Preset.PREVIOUS_MONTH, "2026-02-01", "2026-02-28"),
        (Preset.THIS_YEAR, "2026-01-01", "2026-03-18"),
    ],
)
def test_it_resolves_presets_in_local_days(preset: str, first: str, last: str) -> None:
    period = resolve_period(preset, today=TODAY, tz=HELSINKI)
    assert (period.first_day.isoformat(), period.last_day.isoformat()) == (first, last)


def test_it_starts_all_time_at_the_earliest_order() -> None:
    period = resolve_period(
        Preset.ALL_TIME, today=TODAY, tz=HELSINKI, earliest_day=dt.date(2025, 1, 5)
    )
    assert period.first_day == dt.date(2025, 1, 5)


def test_it_refuses_a_custom_range_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends before"):
        resolve_period(
            Preset.CUSTOM,
            today=TODAY,
            tz=HELSINKI,
            first_day=TODAY,
            last_day=TODAY - dt.timedelta(days=1),
        )


def test_it_bounds_days_at_local_midnight_across_dst() -> None:
    # 29 March 2026 has 23 hours in Helsinki: clocks go from 03:00 EET to 04:00 EEST.
    day = Period(dt.date(2026, 3, 29), dt.date(2026, 3, 29), HELSINKI)
    assert day.start == dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC)
    assert day.end == dt.datetime(2026, 3, 29, 21, 0, tzinfo=dt.UTC)
    autumn = Period(dt.date(2026, 10, 25), dt.date(2026, 10, 25), HELSINKI)
    assert autumn.end - autumn.start == dt.timedelta(hours=25)


def test_it_compares_with_the_equal_length_period_before() -> None:
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31), HELSINKI)
    previous = period.previous()
    assert (previous.first_day, previous.last_day) == (dt.date(2026, 1, 29), dt.date(2026, 2, 28))


def test_this_year_is_compared_with_the_same_dates_last_year() -> None:
    this_year = resolve_period(Preset.THIS_YEAR, today=dt.date(2026, 12, 5), tz=HELSINKI)
    compared = comparison_period(Preset.THIS_YEAR, this_year)
    assert compared == Period(dt.date(2025, 1, 1), dt.date(2025, 12, 5), HELSINKI)
    # A leap day has no twin: the year before ends on the 28th.
    leap = resolve_period(Preset.THIS_YEAR, today=dt.date(2028, 2, 29), tz=HELSINKI)
    assert comparison_period(Preset.THIS_YEAR, leap) == Period(
        dt.date(2027, 1, 1), dt.date(2027, 2, 28), HELSINKI
    )


def test_other_periods_are_compared_with_the_days_just_before() -> None:
    week = resolve_period(Preset.LAST_7_DAYS, today=dt.date(2026, 12, 5), tz=HELSINKI)
    assert comparison_period(Preset.LAST_7_DAYS, week) == week.previous()
    everything = resolve_period(Preset.ALL_TIME, today=dt.date(2026, 12, 5), tz=HELSINKI)
    assert comparison_period(Preset.ALL_TIME, everything) is None


def test_it_picks_a_granularity_that_fits_the_range() -> None:
    def days(n: int) -> Period:
        return Period(TODAY - dt.timedelta(days=n - 1), TODAY, HELSINKI)

    assert default_granularity(days(30)) == Granularity.DAY
    assert default_granularity(days(90)) == Granularity.WEEK
    assert default_granularity(days(365)) == Granularity.MONTH


def test_it_lists_iso_weeks_across_new_year() -> None:
    period = Period(dt.date(2026, 12, 27), dt.date(2027, 1, 5), HELSINKI)
    assert buckets(period, Granularity.WEEK) == [
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 28),
        dt.date(2027, 1, 4),
    ]
    assert buckets(period, Granularity.MONTH) == [dt.date(2026, 12, 1), dt.date(2027, 1, 1)]
