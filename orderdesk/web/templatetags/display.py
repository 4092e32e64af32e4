"""Template filters for showing money, countries and counts the same way on every page."""

from __future__ import annotations

from django import template

from orderdesk.lib.money import country_name, format_money
from orderdesk.web import presenters

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    """`{{ order.total_minor|money:order.currency }}` → `€49.00`."""
    if amount_minor is None:
        return ""
    return format_money(int(amount_minor), currency)


@register.filter
def country(code: str) -> str:
    return country_name(code)


@register.filter
def count_label(count: int, capped: bool) -> str:
    """`{{ count|count_label:count_is_capped }}` → `4`, or `10,000+` past the count's cap."""
    return presenters.count_label(count, capped)
