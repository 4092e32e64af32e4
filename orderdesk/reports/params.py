"""The report page's parameters (period, time zone, granularity, currency, tab) once validated.

`reports.forms.ReportForm` reads them from a query string.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderdesk.reports.periods import Period, Preset
from orderdesk.reports.rates import RateUnavailable, euro_rate, supported_currencies

PER_CURRENCY = ""
DEFAULT_PRESET = Preset.LAST_30_DAYS


class Tab(models.TextChoices):
    SALES = "sales", _("Sales tracking")
    PRODUCTS = "products", _("Products & add-on sales")
    INTERNATIONAL = "international", _("International")
    ANALYTICS = "analytics", _("Analytics")
    VAT = "vat", _("VAT")


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"Factory", "localtime"}))


@cache
def display_currencies(today: dt.date) -> tuple[str, ...]:
    """Currencies the ECB still quotes (it stopped some, e.g. when they joined the euro)."""
    current = []
    for currency in sorted(supported_currencies()):
        try:
            rate = euro_rate(currency, today)
        except RateUnavailable:
            continue
        if (today - rate.rate_day).days < 60:
            current.append(currency)
    return tuple(current)


@dataclass(frozen=True)
class ReportParams:
    """What a report shows: built by `reports.forms.ReportForm`, turned back into a query for
    links by `query()`."""

    preset: str
    period: Period
    granularity: str
    # "" (PER_CURRENCY) keeps currencies apart; a code converts everything into it.
    currency: str
    tab: str
    auto_granularity: bool

    @property
    def tz(self) -> ZoneInfo:
        return self.period.tz

    def query(self, **changes: str) -> dict[str, str]:
        """These parameters as a query dict, for links that change one of them."""
        values = {
            "period": self.preset,
            "tz": self.tz.key,
            "currency": self.currency,
            "granularity": "" if self.auto_granularity else self.granularity,
            "tab": self.tab,
        }
        if self.preset == Preset.CUSTOM:
            values["from"] = self.period.first_day.isoformat()
            values["to"] = self.period.last_day.isoformat()
        values.update(changes)
        return {k: v for k, v in values.items() if v}
