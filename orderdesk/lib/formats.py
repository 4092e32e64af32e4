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
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal, format_percent
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
    return str(format_percent(fraction, format=pattern, locale=number_locale(lang)))


def signed_percent(fraction: Decimal, lang: str | None = None) -> str:
    """A change against an earlier figure: "+12.3 %", "-4,0 %"."""
    pattern = "+#,##0.0 %;-#,##0.0 %"
    return str(format_percent(fraction, format=pattern, locale=number_locale(lang)))


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


@cache
def _pattern(kind: str, locale: str) -> str:
    """A CLDR pattern: "date" (2 Mar 2026), "datetime" (+ 14:05), "datetime_seconds"."""
    loc = Locale.parse(locale)
    day = str(loc.datetime_skeletons["yMMMd"].pattern)
    if kind == "date":
        return day
    time = str(loc.datetime_skeletons["Hms" if kind == "datetime_seconds" else "Hm"].pattern)
    return str(loc.datetime_formats["medium"]).format(time, day)


def date(value: dt.date | dt.datetime, lang: str | None = None) -> str:
    """A day: "2 Mar 2026", "2.3.2026", "2 mars 2026"."""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    locale = date_locale(lang)
    return str(format_date(value, _pattern("date", locale), locale=locale))


def datetime(value: dt.datetime, lang: str | None = None, *, seconds: bool = False) -> str:
    """A moment in the active time zone: "2 Mar 2026, 14:05", "2.3.2026 14.05"."""
    locale = date_locale(lang)
    pattern = _pattern("datetime_seconds" if seconds else "datetime", locale)
    return str(format_datetime(_local(value), pattern, locale=locale))


def skeleton(name: str, value: dt.date | dt.datetime, lang: str | None = None) -> str:
    """A CLDR skeleton ("MMMd" -> "2 Mar" / "2.3." / "2 mars"; "yMMM" -> "Mar 2026")."""
    if isinstance(value, dt.datetime):
        value = _local(value)
    return str(format_skeleton(name, value, locale=date_locale(lang)))


def time(value: dt.datetime, lang: str | None = None) -> str:
    """A time of day: "14:05" in English, "14.05" in Finnish and Swedish."""
    return skeleton("Hm", value, lang)
