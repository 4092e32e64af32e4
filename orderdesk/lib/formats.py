"""Money, numbers and dates for people, in the active language's conventions (babel, CLDR).

English keeps the look the UI always had ("€49.00", "2 Mar 2026, 14:05"); Finnish and Swedish
follow Finland's conventions ("49,00 €", "2.3.2026 14.05", "2 mars 2026 14.05"). Files and
APIs never use these: they keep plain decimals and ISO 8601 (`lib/money.major_str`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from django.utils import timezone, translation

from orderdesk.lib.money import format_money

# The CLDR locale of each UI language: numbers and money, then dates. English money keeps
# the short symbols of plain "en" ("$5.00", not en_GB's "US$5.00"); its dates are British
# ("2 Mar 2026"), as the UI has shown them from the start. Swedish is Finland-Swedish.
_NUMBER_LOCALES = {"en": "en", "fi": "fi_FI", "sv": "sv_FI"}
_DATE_LOCALES = {"en": "en_GB", "fi": "fi_FI", "sv": "sv_FI"}


def language() -> str:
    """The active UI language without its region ("fi" for "fi-FI"); English by default."""
    code = (translation.get_language() or "en").split("-")[0].lower()
    return code if code in _NUMBER_LOCALES else "en"


def number_locale(lang: str | None = None) -> str:
    return _NUMBER_LOCALES[lang or language()]


def date_locale(lang: str | None = None) -> str:
    return _DATE_LOCALES[lang or language()]


def money(amount_minor: int, currency: str, lang: str | None = None) -> str:
    """`4900, "EUR"` -> "€49.00" in English, "49,00 €" in Finnish and Swedish."""
    return format_money(amount_minor, currency, number_locale(lang))


@lru_cache(maxsize=4096)
def _integer(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


def integer(value: int, lang: str | None = None) -> str:
    """`12345` -> "12,345" in English, "12 345" (a no-break space) in Finnish and Swedish."""
    return _integer(int(value), number_locale(lang))


def decimal(value: Decimal | float, lang: str | None = None) -> str:
    return str(format_decimal(value, locale=number_locale(lang)))


def percent(fraction: Decimal, lang: str | None = None, *, places: int = 1) -> str:
    """`Decimal("0.123")` -> "12.3 %" in English, "12,3 %" in Finnish and Swedish."""
    pattern = "#,##0" + ("." + "0" * places if places else "") + " %"
    locale = number_locale(lang)
    rounded = rounded_percentage(fraction, places)
    if rounded is not None:
        # At most 1,001 texts per pattern and language between 0 and 100 %, kept as
        # `format_money` keeps prices.
        return _rounded_percent(rounded, pattern, locale)
    return _percent(fraction, pattern, locale)


def rounded_percentage(fraction: Decimal, places: int = 1) -> Decimal | None:
    """The percentage `percent` shows for `fraction`, rounded as babel rounds it (by the
    decimal context), so every fraction with the same one has the same text; None for a
    negative or infinite fraction, whose text depends on more than that."""
    if not fraction.is_finite() or fraction.is_signed():
        return None
    return fraction.scaleb(2).quantize(Decimal(1).scaleb(-places))


def signed_percent(fraction: Decimal, lang: str | None = None) -> str:
    """A change against an earlier figure: "+12.3 %", "-4,0 %"."""
    return _percent(fraction, "+#,##0.0 %;-#,##0.0 %", number_locale(lang))


@lru_cache(maxsize=8192)
def _rounded_percent(percentage: Decimal, pattern: str, locale: str) -> str:
    return _percent(percentage.scaleb(-2), pattern, locale)


def _percent(fraction: Decimal, pattern: str, locale: str) -> str:
    # babel's format_percent, with the pattern parsed and the locale looked up once (parsing
    # was most of its ~30 µs).
    return str(_number_pattern(pattern).apply(fraction, _locale(locale)))


@cache
def _number_pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


@cache
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


def _local(moment: dt.datetime) -> dt.datetime:
    """Naive wall-clock time in the active time zone: no pattern here prints a zone, and a
    naive value is a cache key."""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.replace(tzinfo=None, microsecond=0)


@cache
def _pattern(kind: str, locale: str) -> str:
    """A CLDR pattern: a skeleton's ("MMMd", "Hm"...), or "datetime" / "datetime_seconds":
    the locale's medium joining of its day (yMMMd) and its time (Hm or Hms)."""
    skeletons = Locale.parse(locale).datetime_skeletons
    if kind not in ("datetime", "datetime_seconds"):
        return str(skeletons[kind].pattern)
    day = str(skeletons["yMMMd"].pattern)
    time = str(skeletons["Hms" if kind == "datetime_seconds" else "Hm"].pattern)
    return str(Locale.parse(locale).datetime_formats["medium"]).format(time, day)


# Babel takes some 50 µs a call; the orders table formats a time or day per row, and rows
# share days and minutes, so results are kept by value.
@lru_cache(maxsize=8192)
def _format(kind: str, value: dt.date | dt.datetime, locale: str) -> str:
    pattern = _pattern(kind, locale)
    if isinstance(value, dt.datetime):
        return str(format_datetime(value, pattern, locale=locale))
    return str(format_date(value, pattern, locale=locale))


def date(value: dt.date | dt.datetime, lang: str | None = None) -> str:
    """A day: "2 Mar 2026", "2.3.2026", "2 mars 2026"."""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return _format("yMMMd", value, date_locale(lang))


def datetime(value: dt.datetime, lang: str | None = None, *, seconds: bool = False) -> str:
    """A moment in the active time zone: "2 Mar 2026, 14:05", "2.3.2026 14.05"."""
    kind = "datetime_seconds" if seconds else "datetime"
    return _format(kind, _local(value), date_locale(lang))


def skeleton(name: str, value: dt.date | dt.datetime, lang: str | None = None) -> str:
    """A CLDR skeleton ("MMMd" -> "2 Mar" / "2.3." / "2 mars"; "yMMM" -> "Mar 2026")."""
    if isinstance(value, dt.datetime):
        value = _local(value)
    return _format(name, value, date_locale(lang))


def time(value: dt.datetime, lang: str | None = None) -> str:
    """A time of day: "14:05" in English, "14.05" in Finnish and Swedish."""
    return skeleton("Hm", value, lang)
