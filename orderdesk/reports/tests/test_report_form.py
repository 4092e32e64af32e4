from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from orderdesk.reports.forms import ReportForm
from orderdesk.reports.params import PER_CURRENCY, ReportParams, Tab
from orderdesk.reports.periods import Granularity, Period, Preset

HELSINKI = ZoneInfo("Europe/Helsinki")
# 23:30 UTC is already the next day in Helsinki.
NOW = dt.datetime(2026, 3, 17, 23, 30, tzinfo=dt.UTC)


def form(query: str, first_order_at: Callable[[], dt.datetime | None] | None = None) -> ReportForm:
    return ReportForm(
        QueryDict(query), default_tz="Europe/Helsinki", now=NOW, first_order_at=first_order_at
    )


def test_it_builds_the_parameters_from_the_query_string() -> None:
    report = form(
        "period=custom&from=2026-01-01&to=2026-02-28&tz=UTC&granularity=week"
        "&currency=sek&tab=international"
    )

    assert report.messages() == {}
    assert report.params == ReportParams(
        preset=Preset.CUSTOM,
        period=Period(dt.date(2026, 1, 1), dt.date(2026, 2, 28), ZoneInfo("UTC")),
        granularity=Granularity.WEEK,
        currency="SEK",
        tab=Tab.INTERNATIONAL,
        auto_granularity=False,
    )


def test_no_parameters_mean_the_last_30_days_in_the_default_time_zone() -> None:
    report = form("")

    assert report.messages() == {}
    params = report.params
    assert params.preset == Preset.LAST_30_DAYS
    assert params.period == Period(dt.date(2026, 2, 17), dt.date(2026, 3, 18), HELSINKI)
    assert (params.granularity, params.auto_granularity) == (Granularity.DAY, True)
    assert (params.currency, params.tab) == (PER_CURRENCY, Tab.SALES)


def test_it_takes_typed_values_as_the_api_passes_them() -> None:
    report = ReportForm(
        {"period": "custom", "from": dt.date(2026, 3, 1), "to": dt.date(2026, 3, 2)},
        default_tz="UTC",
        now=NOW,
    )

    assert report.messages() == {}
    assert report.params.period == Period(dt.date(2026, 3, 1), dt.date(2026, 3, 2), ZoneInfo("UTC"))


def test_it_asks_for_the_first_order_only_for_all_time() -> None:
    asked: list[bool] = []

    def first_order_at() -> dt.datetime:
        asked.append(True)
        return dt.datetime(2025, 5, 4, 22, 0, tzinfo=dt.UTC)

    assert form("period=this_year", first_order_at=first_order_at).params.period.first_day == (
        dt.date(2026, 1, 1)
    )
    assert asked == []
    all_time = form("period=all_time", first_order_at=first_order_at).params
    assert all_time.period.first_day == dt.date(2025, 5, 5)  # midnight in Helsinki
    assert asked == [True]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=forever", "period", "Choose a period from the list."),
        ("tz=Mars/Olympus", "tz", "Use a time zone name like Europe/Helsinki."),
        ("tz=../etc/passwd", "tz", "Use a time zone name like Europe/Helsinki."),
        ("tz=a%00b", "tz", "Remove the invisible NUL character (%00)."),
        ("granularity=hour", "granularity", "Choose day, week or month."),
        ("currency=XYZ", "currency", "Choose a currency from the list."),
        # The ECB stopped quoting the kuna when Croatia joined the euro.
        ("currency=HRK", "currency", "Choose a currency from the list."),
        ("tab=refunds", "tab", "Unknown tab."),
        ("from=31.1.2026", "from", "Use a date like 2026-01-31."),
        ("period=custom&to=2026-01-01", "from", "A custom range needs a first day."),
        ("period=custom&from=2026-01-01", "to", "A custom range needs a last day."),
        (
            "period=custom&from=2026-02-10&to=2026-02-01",
            "to",
            "The last day is before the first day.",
        ),
        ("period=custom&from=2026-01-01&to=2101-01-01", "to", "Use a date between 2000 and 2100."),
    ],
)
def test_it_names_the_bad_parameter_and_says_what_to_do(
    query: str, field: str, message: str
) -> None:
    assert form(query).messages() == {field: message}


def test_a_bad_parameter_falls_back_to_its_default() -> None:
    report = form(
        "period=custom&from=2026-02-10&to=2026-02-01&tz=Mars&granularity=hour&currency=XYZ&tab=x"
    )

    assert set(report.messages()) == {"to", "tz", "granularity", "currency", "tab"}
    params = report.params
    assert params.preset == Preset.LAST_30_DAYS
    assert params.tz == HELSINKI
    assert params.auto_granularity is True
    assert (params.currency, params.tab) == (PER_CURRENCY, Tab.SALES)
