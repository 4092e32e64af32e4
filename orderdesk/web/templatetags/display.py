"""Template filters for showing money, countries and counts the same way on every page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.translation import gettext

from orderdesk.lib import formats
from orderdesk.lib.money import country_name
from orderdesk.payments.methods import method_label
from orderdesk.web import presenters

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    """`{{ order.total_minor|money:order.currency }}` → `€49.00`, `49,00 €` in fi and sv."""
    if amount_minor is None:
        return ""
    return formats.money(int(amount_minor), currency)


@register.filter
def country(code: str) -> str:
    return country_name(code, formats.number_locale())


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    """`{{ period.first_day|day }}` → `2 Mar 2026`, `2.3.2026`, `2 mars 2026`."""
    return formats.date(value) if value else ""


@register.filter
def moment(value: dt.datetime | None, arg: str = "") -> str:
    """`{{ event.created_at|moment }}` → `2 Mar 2026, 14:05` in the active time zone and
    language; `|moment:"seconds"` adds the seconds."""
    return formats.datetime(value, seconds=arg == "seconds") if value else ""


@register.filter
def number(value: int | None) -> str:
    """`{{ count|number }}` → `12,345`, `12 345` in fi and sv."""
    return formats.integer(value) if value is not None else ""


@register.filter
def count_label(count: int, capped: bool) -> str:
    """`{{ count|count_label:count_is_capped }}` → `4`, or `10,000+` past the count's cap."""
    return presenters.count_label(count, capped)


@register.filter
def vat_rate(rate: Decimal) -> str:
    """`{{ row.rate|vat_rate }}` → `25.5 %`, `25,5 %` in fi and sv."""
    return f"{formats.decimal(rate.normalize())} %"


@register.filter
def payment_method(method: str) -> str:
    """`{{ attempt.method|payment_method }}` → `Google Pay`, `OP`, `Kortti` (the table's words)."""
    return method_label(method)


@register.filter
def payment_provider(provider: str) -> str:
    """`{{ attempt.provider|payment_provider }}` → `Stripe`, `Paytrail` (the table's words)."""
    return presenters.provider_label(provider)


@register.filter
def translated(text: str) -> str:
    """A label the layers below keep in English (`gettext_noop`: "(no source)", "By offer"),
    in the active language; any other text, such as a merchant's source name, unchanged."""
    return gettext(text) if text else text
