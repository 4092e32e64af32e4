"""The report page's query parameters, validated: period, time zone, granularity, currency."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from django.db import models

from orderdesk.reports.periods import (
    Granularity,
    Period,
    Preset,
    default_granularity,
    resolve_period,
)
from orderdesk.reports.rates import RateUnavailable, euro_rate, supported_currencies

PER_CURRENCY = ""
DEFAULT_PRESET = Preset.LAST_30_DAYS


class Tab(models.TextChoices):
    SALES = "sales", "Sales tracking"
    PRODUCTS = "products", "Products & add-on sales"
    INTERNATIONAL = "international", "International"
    ANALYTICS = "analytics", "Analytics"


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

    @classmethod
    def parse(
        cls,
        params: Mapping[str, str],
        *,
        default_tz: str,
        now: dt.datetime,
        earliest: dt.datetime | None = None,
    ) -> tuple[ReportParams, dict[str, str]]:
        """Parameters from a query string, with a message per parameter that was not valid.

        Invalid values fall back to their defaults, so the caller can still show the form.
        """
        errors: dict[str, str] = {}

        def value(name: str) -> str:
            return str(params.get(name, "") or "").strip()[:100]

        tz_name = value("tz") or default_tz
        try:
            tz = ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["tz"] = "Choose a time zone from the list, like Europe/Helsinki."
            tz = ZoneInfo(default_tz)

        preset = value("period") or DEFAULT_PRESET
        if preset not in Preset.values:
            errors["period"] = "Choose a period from the list."
            preset = DEFAULT_PRESET
        today = now.astimezone(tz).date()
        first_day = _date(value("from"), "from", errors)
        last_day = _date(value("to"), "to", errors)
        if preset == Preset.CUSTOM and not errors.keys() & {"from", "to"}:
            if first_day is None:
                errors["from"] = "A custom range needs a first day."
            if last_day is None:
                errors["to"] = "A custom range needs a last day."
            if first_day and last_day and last_day < first_day:
                errors["to"] = "The last day is before the first day."
        if preset == Preset.CUSTOM and errors.keys() & {"from", "to"}:
            preset = DEFAULT_PRESET
        period = resolve_period(
            preset,
            today=today,
            tz=tz,
            first_day=first_day,
            last_day=last_day,
            earliest_day=earliest.astimezone(tz).date() if earliest else None,
        )

        granularity = value("granularity")
        auto = not granularity
        if granularity and granularity not in Granularity.values:
            errors["granularity"] = "Choose day, week or month."
            auto = True
        if auto:
            granularity = default_granularity(period)

        currency = value("currency").upper()
        if currency and currency not in display_currencies(today):
            errors["currency"] = "Choose a currency from the list."
            currency = PER_CURRENCY

        tab = value("tab") or Tab.SALES
        if tab not in Tab.values:
            errors["tab"] = "Unknown tab."
            tab = Tab.SALES
        return cls(preset, period, granularity, currency, tab, auto), errors


def _date(raw: str, name: str, errors: dict[str, str]) -> dt.date | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Use a date like 2026-01-31."
        return None
    if not 2000 <= day.year <= 2100:
        errors[name] = "Use a date between 2000 and 2100."
        return None
    return day
