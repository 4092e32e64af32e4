"""Report periods: whole days in a chosen time zone, their previous period, and their buckets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _


class Preset(models.TextChoices):
    TODAY = "today", _("Today")
    YESTERDAY = "yesterday", _("Yesterday")
    LAST_7_DAYS = "last_7_days", _("Last 7 days")
    LAST_30_DAYS = "last_30_days", _("Last 30 days")
    THIS_MONTH = "this_month", _("This month")
    PREVIOUS_MONTH = "previous_month", _("Previous month")
    THIS_YEAR = "this_year", _("This year")
    ALL_TIME = "all_time", _("All time")
    CUSTOM = "custom", _("Custom range")


class Granularity(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


def midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    # Where midnight falls into a DST gap, zoneinfo's fold=0 maps it to the first instant
    # of the day, which is what a day boundary needs.
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class Period:
    """Calendar days `first_day`..`last_day` (inclusive) as seen in `tz`."""

    first_day: dt.date
    last_day: dt.date
    tz: ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return midnight(self.first_day, self.tz)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        return midnight(self.last_day + dt.timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of equal length (in days) that ends the day before this one starts."""
        last = self.first_day - dt.timedelta(days=1)
        return Period(last - dt.timedelta(days=self.days - 1), last, self.tz)

    def year_before(self) -> Period:
        """The same dates a year earlier (29 February becomes the 28th)."""
        return Period(_year_earlier(self.first_day), _year_earlier(self.last_day), self.tz)

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def _year_earlier(day: dt.date) -> dt.date:
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def comparison_period(preset: str, period: Period) -> Period | None:
    """The period a report's headline compares with, named on the page.

    "This year" so far is compared with the same dates last year: the window of equal length
    before it would be most of last year, seasons and all (a December against a year's
    worth of days showed +838.8 %). All time has nothing before it. Every other period is
    compared with the days of equal length that end the day before it starts.
    """
    if preset == Preset.ALL_TIME:
        return None
    if preset == Preset.THIS_YEAR:
        return period.year_before()
    return period.previous()


def resolve_period(
    preset: str,
    *,
    today: dt.date,
    tz: ZoneInfo,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    earliest_day: dt.date | None = None,
) -> Period:
    """Turn a preset (or a custom range) into days; `today` is today's date in `tz`."""
    day = dt.timedelta(days=1)
    match preset:
        case Preset.TODAY:
            return Period(today, today, tz)
        case Preset.YESTERDAY:
            return Period(today - day, today - day, tz)
        case Preset.LAST_7_DAYS:
            return Period(today - 6 * day, today, tz)
        case Preset.LAST_30_DAYS:
            return Period(today - 29 * day, today, tz)
        case Preset.THIS_MONTH:
            return Period(today.replace(day=1), today, tz)
        case Preset.PREVIOUS_MONTH:
            last = today.replace(day=1) - day
            return Period(last.replace(day=1), last, tz)
        case Preset.THIS_YEAR:
            return Period(today.replace(month=1, day=1), today, tz)
        case Preset.ALL_TIME:
            return Period(min(earliest_day or today, today), today, tz)
        case Preset.CUSTOM:
            if first_day is None or last_day is None:
                raise ValueError("A custom range needs both a first and a last day.")
            if last_day < first_day:
                raise ValueError("The range ends before it starts.")
            return Period(first_day, last_day, tz)
    raise ValueError(f"Unknown period {preset!r}.")


def default_granularity(period: Period) -> Granularity:
    if period.days <= 31:
        return Granularity.DAY
    if period.days <= 190:
        return Granularity.WEEK
    return Granularity.MONTH


def bucket_of(day: dt.date, granularity: str) -> dt.date:
    """The first day of the bucket holding `day`; weeks start on Monday (ISO 8601)."""
    if granularity == Granularity.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if granularity == Granularity.MONTH:
        return day.replace(day=1)
    return day


def buckets(period: Period, granularity: str) -> list[dt.date]:
    """Every bucket the period touches, in order, including empty ones."""
    result: list[dt.date] = []
    day = period.first_day
    while day <= period.last_day:
        bucket = bucket_of(day, granularity)
        if not result or result[-1] != bucket:
            result.append(bucket)
        day += dt.timedelta(days=1)
    return result
