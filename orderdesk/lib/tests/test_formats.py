"""Money, numbers and dates in each UI language's conventions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_percent
from django.utils import timezone, translation

from orderdesk.lib import formats

HELSINKI = ZoneInfo("Europe/Helsinki")
# 14:05 in Helsinki, winter time.
MOMENT = dt.datetime(2026, 3, 2, 12, 5, 7, tzinfo=dt.UTC)
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "money", "integer", "percent"),
    [
        ("en", "€149.00", "12,345", "12.3 %"),
        ("fi", f"149,00{NBSP}€", f"12{NBSP}345", "12,3 %"),
        ("sv", f"149,00{NBSP}€", f"12{NBSP}345", "12,3 %"),
    ],
)
def test_numbers_follow_the_active_language(
    language: str, money: str, integer: str, percent: str
) -> None:
    with translation.override(language):
        assert formats.money(14900, "EUR") == money
        assert formats.integer(12345) == integer
        assert formats.percent(Decimal("0.123")) == percent


@pytest.mark.parametrize("language", ["en", "fi", "sv"])
@pytest.mark.parametrize("places", [0, 1, 2])
@pytest.mark.parametrize(
    "fraction",
    # Halves at each precision (babel rounds them to even), just under and over them, none,
    # all, more than all, negatives and negative zero (not kept), infinity.
    [
        "0.123",
        "0.00125",
        "0.00135",
        "0.0012499",
        "0.0012501",
        "0.5",
        "0.0005",
        "0.9995",
        "0",
        "1",
        "12.3456",
        "-0.05",
        "-0",
        "-0.00001",
        "Infinity",
    ],
)
def test_a_percentage_is_what_babel_prints(language: str, places: int, fraction: str) -> None:
    # formats.percent keeps texts by the rounded percentage; they must be babel's own.
    pattern = "#,##0" + ("." + "0" * places if places else "") + " %"
    expected = str(
        format_percent(Decimal(fraction), format=pattern, locale=formats.number_locale(language))
    )
    assert formats.percent(Decimal(fraction), language, places=places) == expected
    assert formats.percent(Decimal(fraction), language, places=places) == expected  # kept


@pytest.mark.parametrize(
    ("language", "day", "moment", "short", "month"),
    [
        ("en", "2 Mar 2026", "2 Mar 2026, 14:05", "2 Mar", "Mar 2026"),
        ("fi", "2.3.2026", "2.3.2026 14.05", "2.3.", "maalis 2026"),
        ("sv", "2 mars 2026", "2 mars 2026 14.05", "2 mars", "mars 2026"),
    ],
)
def test_dates_follow_the_active_language_in_the_active_time_zone(
    language: str, day: str, moment: str, short: str, month: str
) -> None:
    with translation.override(language), timezone.override(HELSINKI):
        assert formats.date(MOMENT) == day
        assert formats.datetime(MOMENT) == moment
        assert formats.datetime(MOMENT, seconds=True) == moment + (
            ":07" if language == "en" else ".07"
        )
        assert formats.skeleton("MMMd", MOMENT) == short
        assert formats.skeleton("yMMM", MOMENT.date()) == month


def test_an_unknown_or_regional_language_falls_back_sensibly() -> None:
    with translation.override("fi-fi"):
        assert formats.language() == "fi"
    with translation.override("de"):
        assert formats.language() == "en"
