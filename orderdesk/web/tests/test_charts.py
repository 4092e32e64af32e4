"""The SVG charts' shortcuts give the text the slow way gives."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.lib import formats
from orderdesk.web.charts import _whole_percent


@pytest.mark.parametrize("language", ["en", "fi"])
def test_shares_that_round_to_the_same_percent_read_the_same(language: str) -> None:
    # A stacked bar keeps one share text per whole percent: every fraction of counts that
    # rounds to it must read as babel writes that fraction itself, halves included (1/8).
    texts: dict[Decimal, str] = {}
    for total in range(1, 121):
        for value in range(1, total + 1):
            fraction = Decimal(value) / total
            text = formats.percent(fraction, language, places=0)
            assert texts.setdefault(_whole_percent(fraction), text) == text
