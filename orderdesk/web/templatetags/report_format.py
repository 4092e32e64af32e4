"""Template filters of the reports page: money per currency and percentages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from orderdesk.lib import formats
from orderdesk.lib.money import to_minor
from orderdesk.reports.queries import CountryRow, Money
from orderdesk.web.views.reports import percent_text

register = template.Library()


@register.filter
def amounts(money: Money | None) -> SafeString:
    """`{{ figures.revenue|amounts }}`: one line per currency, never added together."""
    if not money:
        return mark_safe("–")
    return format_html_join(
        "",
        '<span class="amount">{}</span>',
        ((formats.money(to_minor(amount, c), c),) for c, amount in sorted(money.items())),
    )


@register.filter
def percent(value: Decimal | None) -> str:
    return percent_text(value)


@register.filter
def share(part: int, whole: int) -> str:
    if not whole:
        return "–"
    return percent_text(Decimal(part) / Decimal(whole))


@register.filter
def share_of_country(part: int, country: CountryRow) -> str:
    """`{{ f.orders|share_of_country:c }}`: a region's share of its country's orders, "12.3 %
    of FI". A filter rather than a `{% blocktranslate %}` on each region's row: one gettext,
    where the tag pushes a context and renders each of its values through the engine."""
    return gettext("%(share)s of %(country)s") % {
        "share": share(part, country.figures.orders),
        "country": country.country,
    }
