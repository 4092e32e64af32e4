"""European Central Bank reference rates, as shipped (and refreshed) by `currencyconverter`.

The ECB publishes one rate per currency per banking day, in units of the currency per euro.
A day without a rate (weekend, holiday, or after the newest rate in the file) uses the last
earlier rate, and every conversion remembers which rate it used so the page can say so.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings

from orderdesk.lib.money import to_major, to_minor

ECB_HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
# Walking back further than this finds no rate: the currency is not (or no longer) quoted.
_MAX_LOOKBACK_DAYS = 31
_lock = threading.Lock()


class RateUnavailable(Exception):
    """The ECB data has no rate for this currency on or shortly before this day."""


class RefreshFailed(Exception):
    """The ECB history could not be downloaded or read; the file in use stays as it was."""


def rates_file() -> Path:
    """The ECB history in use: ECB_RATES_FILE once refreshed, else the copy the package ships."""
    configured = getattr(settings, "ECB_RATES_FILE", None)
    if configured and Path(configured).exists():
        return Path(configured)
    from currency_converter import CURRENCY_FILE

    return Path(CURRENCY_FILE)


def refresh_ecb_rates(url: str = ECB_HISTORY_URL) -> dt.date:
    """Download the ECB's whole reference-rate history and replace ECB_RATES_FILE atomically.

    Returns the newest day with rates. Running processes pick the new file up by its
    modification time.
    """
    from currency_converter import CurrencyConverter

    target = Path(settings.ECB_RATES_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        response = httpx.get(url, timeout=60, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise RefreshFailed(f"Could not download the ECB rates: {error}") from error
    fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(response.content)
        # Parse before replacing: a broken download must never replace a good file.
        check = CurrencyConverter(temporary)
        if "USD" not in check.currencies:
            raise RefreshFailed("The downloaded file has no USD rates; keeping the old file.")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    newest: dt.date = check.bounds["USD"].last_date
    return newest


def _current_source() -> tuple[str, float]:
    path = rates_file()
    return str(path), path.stat().st_mtime


@lru_cache(maxsize=2)
def _converter(path: str, mtime: float) -> Any:
    """One parsed history per file version; a refreshed file is picked up by its new mtime."""
    from currency_converter import CurrencyConverter

    with _lock:
        return CurrencyConverter(path, decimal=True)


def supported_currencies() -> frozenset[str]:
    return frozenset(_converter(*_current_source()).currencies)


@dataclass(frozen=True)
class Rate:
    """Units of `currency` per euro on `rate_day`, used for payments made on `day`."""

    currency: str
    day: dt.date
    rate_day: dt.date
    per_euro: Decimal

    @property
    def is_fallback(self) -> bool:
        return self.rate_day != self.day


def euro_rate(currency: str, day: dt.date) -> Rate:
    if currency == "EUR":
        return Rate("EUR", day, day, Decimal(1))
    return _euro_rate(currency, day, *_current_source())


@lru_cache(maxsize=100_000)
def _euro_rate(currency: str, day: dt.date, path: str, mtime: float) -> Rate:
    from currency_converter import RateNotFoundError

    converter = _converter(path, mtime)
    if currency not in converter.currencies:
        raise RateUnavailable(f"The ECB publishes no rates for {currency}.")
    first_day, last_day = converter.bounds[currency]
    # After the newest rate in the file, the newest rate is the last earlier one.
    candidate = min(day, last_day)
    earliest = max(first_day, candidate - dt.timedelta(days=_MAX_LOOKBACK_DAYS))
    while candidate >= earliest:
        try:
            # convert(1, "EUR", X) is the rate itself: units of X per euro.
            per_euro = converter.convert(Decimal(1), "EUR", currency, date=candidate)
        except RateNotFoundError:
            candidate -= dt.timedelta(days=1)
            continue
        return Rate(currency, day, candidate, Decimal(per_euro))
    raise RateUnavailable(f"The ECB has no {currency} rate on or before {day.isoformat()}.")


@dataclass
class Converter:
    """Converts amounts into one display currency and records the rates it used."""

    display_currency: str
    used: dict[tuple[str, dt.date], Rate] = field(default_factory=dict)
    # Read once: one report uses one version of the rates file throughout.
    source: tuple[str, float] = field(default_factory=_current_source)
    _pairs: dict[tuple[str, dt.date], tuple[Decimal, Decimal]] = field(
        default_factory=dict, repr=False
    )
    # What each (amount, currency, day) came to: a report values the same day's sum for a row's
    # figures, again for its chart's bucket, and the period's totals hold it once more.
    _converted: dict[tuple[int, str, dt.date], Decimal] = field(default_factory=dict, repr=False)

    def to_display(self, amount_minor: int, currency: str, day: dt.date) -> Decimal:
        """The amount in display-currency major units, unrounded."""
        if currency == self.display_currency:
            return to_major(amount_minor, currency)
        key = (amount_minor, currency, day)
        converted = self._converted.get(key)
        if converted is None:
            per_euro, display_per_euro = self._pair(currency, day)
            converted = to_major(amount_minor, currency) / per_euro * display_per_euro
            self._converted[key] = converted
        return converted

    def sum_to_display(
        self, cells: Iterable[tuple[tuple[str, dt.date | None], Sequence[int]]]
    ) -> Decimal:
        """The sum of `to_display` over ((currency, day), (amount_minor, …)) cells, in their
        order: a chart's point (a year by day plots thousands of them). A day may be None only
        for amounts already in the display currency."""
        amount = Decimal(0)
        for (currency, day), cell in cells:
            if currency == self.display_currency:
                amount += to_major(cell[0], currency)
            else:
                assert day is not None, "converting needs sums per day (Valuation.per)"
                amount += self.to_display(cell[0], currency, day)
        return amount

    def _pair(self, currency: str, day: dt.date) -> tuple[Decimal, Decimal]:
        """Units of `currency` and of the display currency per euro on `day`."""
        pair = self._pairs.get((currency, day))
        if pair is None:
            pair = (
                self._rate(currency, day).per_euro,
                self._rate(self.display_currency, day).per_euro,
            )
            self._pairs[(currency, day)] = pair
        return pair

    def round(self, amount: Decimal) -> int:
        return to_minor(amount, self.display_currency)

    def _rate(self, currency: str, day: dt.date) -> Rate:
        if currency == "EUR":
            return Rate("EUR", day, day, Decimal(1))
        rate = _euro_rate(currency, day, *self.source)
        self.used[(currency, day)] = rate
        return rate
