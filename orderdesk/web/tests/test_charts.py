"""The SVG charts' shortcuts give the text the slow way gives."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from babel.numbers import format_percent
from django.utils import translation

from orderdesk.lib import formats
from orderdesk.web.charts import Series, stacked_bar_chart


@pytest.mark.parametrize("language", ["en", "fi"])
def test_a_segments_share_reads_as_babel_writes_its_fraction(language: str) -> None:
    # Thousands of segments share a few texts (formats.percent keeps one per rounded
    # percentage): every fraction of counts must still read as babel writes that fraction
    # itself, halves included (1/8).
    pairs = [(value, total) for total in range(2, 41) for value in range(1, total)]
    day = dt.date(2026, 1, 1)
    with translation.override(language):
        chart = stacked_bar_chart(
            title="Orders",
            buckets=[day + dt.timedelta(days=i) for i in range(len(pairs))],
            granularity="day",
            series=[
                Series("A", [Decimal(value) for value, _ in pairs]),
                Series("B", [Decimal(total - value) for value, total in pairs]),
            ],
            fmt=str,
        )
    shares = re.findall(r"\(([^()]*)\)</title>", str(chart.svg))
    locale = formats.number_locale(language)
    expected = [
        str(format_percent(Decimal(part) / total, format="#,##0 %", locale=locale))
        for value, total in pairs
        for part in (value, total - value)
    ]
    assert shares == expected
