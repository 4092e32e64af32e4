"""Template filters of the reports page: money per currency, percentages, bucket names."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template

from orderdesk.reports.queries import Money
from orderdesk.web.charts import bucket_label
from orderdesk.web.views.reports import money_text, percent_text

register = template.Library()


@register.filter
def amounts(money: Money | None) -> str:
    """`{{ figures.revenue|amounts }}` → `€1,234.00 · SEK 9,990.00` (never added together)."""
    return money_text(money or {})


@register.filter
def percent(value: Decimal | None) -> str:
    return percent_text(value)


@register.filter
def share(part: int, whole: int) -> str:
    if not whole:
        return "–"
    return percent_text(Decimal(part) / Decimal(whole))


@register.filter
def bucket(day: dt.date, granularity: str) -> str:
    return bucket_label(day, granularity)
