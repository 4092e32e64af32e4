"""Money amounts: integer minor units plus an ISO 4217 code, shown without floats."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@cache
def minor_exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's major unit: 2 for EUR, 0 for JPY."""
    return int(get_currency_precision(currency))


@cache
def unusual_exponents() -> dict[str, int]:
    """Every currency whose minor unit is not hundredths, with its exponent (JPY 0, KWD 3).

    For code that formats amounts outside Python (the PostgreSQL CSV export) and must agree
    with `minor_exponent`, which falls back to 2 for any code not listed here.
    """
    codes = (code for code in get_global("currency_fractions") if code != "DEFAULT")
    return {code: minor_exponent(code) for code in codes if minor_exponent(code) != 2}


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Round a major-unit amount half-up to the currency's minor unit."""
    return int(amount.scaleb(minor_exponent(currency)).quantize(Decimal(1), ROUND_HALF_UP))


def major_str(amount_minor: int, currency: str) -> str:
    """`4900, "EUR"` -> `"49.00"`: a plain decimal string for files and APIs."""
    exponent = minor_exponent(currency)
    if exponent == 0:
        return str(amount_minor)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


# Pure and slow-ish in babel (~60 µs); tables show the same few prices over and over.
@lru_cache(maxsize=8192)
def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """`4900, "EUR"` -> `"€49.00"` for people."""
    return str(format_currency(to_major(amount_minor, currency), currency, locale=locale))


class AmountError(ValueError):
    """Text that is not an amount of the currency; the message is meant for the person."""


_AMOUNT = re.compile(r"^(?P<units>\d+)(?:[.,](?P<fraction>\d*))?$")


def parse_major(text: str, currency: str) -> int:
    """`"12.50"` or `"12,50"` -> 1250 for EUR; blank is zero.

    Accepts a decimal point or comma and spaces, nothing else: no sign, no exponent, no
    thousands separators, at most as many decimals as the currency has.
    """
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return 0
    if cleaned.startswith("-"):
        raise AmountError(_("Enter an amount of zero or more."))
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise AmountError(_("Enter an amount such as 12.50."))
    exponent = minor_exponent(currency)
    fraction = match["fraction"] or ""
    if len(fraction) > exponent:
        if exponent == 0:
            raise AmountError(_("%(currency)s amounts have no decimals.") % {"currency": currency})
        raise AmountError(
            ngettext("Use at most %(count)s decimal.", "Use at most %(count)s decimals.", exponent)
            % {"count": exponent}
        )
    if len(match["units"]) > 12:
        raise AmountError(_("That amount is too large."))
    minor: int = int(match["units"]) * 10**exponent + int(fraction.ljust(exponent, "0") or 0)
    return minor


@cache
def _territories(locale: str) -> dict[str, str]:
    return dict(Locale.parse(locale).territories)


def country_name(code: str, locale: str = "en") -> str:
    """The country's name for an ISO 3166-1 alpha-2 code; the code itself if unknown."""
    if not code:
        return ""
    return _territories(locale).get(code.upper(), code.upper())
