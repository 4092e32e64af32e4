"""Order reports (SPEC F8): headline cards, four tabs with tables and charts, CSV exports.

One template, `web/reports/page.html`, serves the full page and, for htmx requests that
target `report`, only the report below the form. Only the chosen tab's queries run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.db.models import Min
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from django.views.decorators.http import require_GET

from orderdesk.lib import formats
from orderdesk.lib.money import to_minor
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import Order
from orderdesk.reports import queries
from orderdesk.reports.exports import orders_csv_response, vat_csv_response
from orderdesk.reports.forms import ReportForm
from orderdesk.reports.params import (
    ReportParams,
    Tab,
    display_currencies,
    time_zones,
)
from orderdesk.reports.periods import Granularity, Preset
from orderdesk.reports.queries import Breakdown, Figures, Money, Scope, Valuation
from orderdesk.reports.rates import Converter, Rate
from orderdesk.reports.tabs import tab_report, vat_report
from orderdesk.web.charts import (
    OTHER_COLOUR,
    Chart,
    Number,
    Series,
    bucket_label,
    line_chart,
    stacked_bar_chart,
)
from orderdesk.web.http import StaffRequest
from orderdesk.workflows.search import orders_to_export

TEMPLATE = "web/reports/page.html"
CHART_SERIES = 5


@lru_cache(maxsize=64)
def time_zone_options(selected: str) -> SafeString:
    # About 600 zones: rendering them once per selected zone keeps them out of every request.
    return format_html_join(
        "",
        "<option{}>{}</option>",
        ((" selected" if name == selected else "", name) for name in time_zones()),
    )


def _is_fragment(request: StaffRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == "report"


def _parse(
    request: StaffRequest, checkout_ids: frozenset[int]
) -> tuple[ReportParams, dict[str, str]]:
    def first_order_at() -> dt.datetime | None:
        orders = Order.objects.filter(checkout_id__in=checkout_ids)
        first: dt.datetime | None = orders.aggregate(first=Min("created_at"))["first"]
        return first

    form = ReportForm(
        request.GET,
        default_tz=request.access.time_zone,
        now=timezone.now(),
        first_order_at=first_order_at,
    )
    return form.params, form.messages()


@login_required
@require_GET
def report(request: StaffRequest) -> HttpResponse:
    access = request.access
    checkout_ids = frozenset({access.current.checkout.pk}) if access.current else frozenset()
    params, errors = _parse(request, checkout_ids)
    context: dict[str, Any] = {
        "params": params,
        "errors": errors,
        "current": access.current,
        "presets": Preset.choices,
        "granularities": Granularity.choices,
        "tabs": [
            (value, label, urlencode(params.query(tab=value))) for value, label in Tab.choices
        ],
        "time_zone_options": time_zone_options(params.tz.key),
        "currencies": display_currencies(timezone.now().date()),
        "export_query": urlencode(params.query()),
        "granularity_name": str(Granularity(params.granularity).label).lower(),
        "per_bucket": per_bucket(params.granularity),
    }
    if access.current is not None and not errors:
        context.update(_report_context(checkout_ids, params))
    status = 400 if errors else 200
    template = f"{TEMPLATE}#report" if _is_fragment(request) else TEMPLATE
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _file_language(request: StaffRequest) -> str:
    """`?headers=local`: column names and labels in the page's language; else English, the
    names programs read."""
    return formats.language() if request.GET.get("headers") == "local" else "en"


def _for_excel(request: StaffRequest) -> bool:
    """`?format=excel`: the same CSV with a byte order mark, by which Excel reads UTF-8; the
    plain file, the one programs read, stays as it was."""
    return request.GET.get("format") == "excel"


def _export_scope(request: StaffRequest) -> tuple[frozenset[int], ReportParams] | HttpResponse:
    """The checkout and report parameters of a CSV export, or the plain-text answer that
    refuses it: 404 without a checkout, 400 naming each bad parameter."""
    if request.access.current is None:
        return HttpResponse(
            _("You have no checkout to export."),
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    checkout_ids = frozenset({request.access.current.checkout.pk})
    params, errors = _parse(request, checkout_ids)
    if errors:
        return HttpResponse(
            "\n".join(f"{name}: {message}" for name, message in errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return checkout_ids, params


@login_required
@require_GET
def report_export(request: StaffRequest) -> HttpResponseBase:
    """The orders counted as sales in the report's period, one row per order line."""
    found = _export_scope(request)
    if isinstance(found, HttpResponse):
        return found
    checkout_ids, params = found
    period = params.period
    orders = Scope(checkout_ids, period).paid_orders().order_by("paid_at", "pk")
    filename = f"orders-paid-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"
    return orders_csv_response(
        orders,
        tz=params.tz,
        filename=filename,
        language=_file_language(request),
        excel=_for_excel(request),
    )


@login_required
@require_GET
def report_vat_export(request: StaffRequest) -> HttpResponseBase:
    """The VAT tab's table as CSV: per currency and rate, sales, refunds and net."""
    found = _export_scope(request)
    if isinstance(found, HttpResponse):
        return found
    checkout_ids, params = found
    period = params.period
    return vat_csv_response(
        vat_report(checkout_ids, params),
        filename=f"vat-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv",
        language=_file_language(request),
    )


@login_required
@require_GET
def orders_export(request: StaffRequest) -> HttpResponseBase:
    """The orders matching the orders page's filters, one row per order line."""
    access = request.access
    if access.current is None:
        return HttpResponse(
            _("You have no checkout to export."),
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    tz = timezone.get_current_timezone()
    form = OrderFilterForm(request.GET, tz=tz)
    errors = form.messages()
    if errors:
        return HttpResponse(
            "\n".join(f"{name}: {message}" for name, message in errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    checkout_ids = [access.current.checkout.pk]
    orders, ids = orders_to_export(
        Order.objects.filter(checkout_id__in=checkout_ids), form.filters, checkout_ids=checkout_ids
    )
    filename = f"orders-{timezone.now().astimezone(tz).strftime('%Y-%m-%d-%H%M')}.csv"
    return orders_csv_response(
        orders,
        tz=ZoneInfo(str(tz)),
        filename=filename,
        language=_file_language(request),
        excel=_for_excel(request),
        ids=ids,
    )


# --- presentation --------------------------------------------------------------------------

# The reports layer names its breakdowns in English (the staff API's words too); the page
# shows them in the member's language.
BREAKDOWN_NAMES = {
    "By source": gettext_lazy("by source"),
    "By checkout link": gettext_lazy("by checkout link"),
    "By offer": gettext_lazy("by offer"),
}


def per_bucket(granularity: str) -> str:
    """ "per day", "per week", "per month" in the active language."""
    names = {
        "day": pgettext("chart buckets", "per day"),
        "week": pgettext("chart buckets", "per week"),
        "month": pgettext("chart buckets", "per month"),
    }
    return names.get(granularity, granularity)


def percent_text(value: Decimal | None, places: int = 1) -> str:
    """ "12.3 %" ("12,3 %" in Finnish and Swedish); "–" when there is nothing to divide."""
    if value is None:
        return "–"
    return formats.percent(value, places=places)


@dataclass(frozen=True)
class Change:
    text: str
    direction: str  # "up", "down" or "flat": the arrow
    # Whether the change is good news: rising revenue is, rising refunds are not. The page
    # colours it and says it in words ("better", "worse"), never by colour alone.
    rising_is_good: bool = True

    @property
    def tone(self) -> str:
        """ "good", "bad" or "flat"."""
        if self.direction == "flat":
            return "flat"
        return "good" if (self.direction == "up") == self.rising_is_good else "bad"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "")


def _relative(now: Decimal, before: Decimal, *, rising_is_good: bool = True) -> Change | None:
    if not before:
        return None
    change = (now - before) / abs(before)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return Change(formats.signed_percent(change), direction, rising_is_good)


def _money_change(
    now: Money, before: Money, *, rising_is_good: bool = True
) -> list[tuple[str, Change]]:
    changes = []
    for currency in sorted(set(now) | set(before)):
        change = _relative(
            now.get(currency, Decimal(0)),
            before.get(currency, Decimal(0)),
            rising_is_good=rising_is_good,
        )
        if change is not None:
            changes.append((currency, change))
    return changes


@dataclass(frozen=True)
class Card:
    label: str
    value: Money | str
    changes: list[tuple[str, Change]]
    definition: str

    @property
    def money(self) -> bool:
        # An empty amount (no refunds in the period) is still money: shown as "–", never "{}".
        return isinstance(self.value, dict)


def _cards(current: Figures, previous: Figures | None) -> list[Card]:
    def count_change(now: int, before: int) -> list[tuple[str, Change]]:
        change = _relative(Decimal(now), Decimal(before))
        return [("", change)] if change else []

    def rate_change(now: Decimal | None, before: Decimal | None) -> list[tuple[str, Change]]:
        if now is None or before is None:
            return []
        points = (now - before) * 100
        direction = "up" if points > 0 else "down" if points < 0 else "flat"
        # "pp": percentage points, the difference of two rates.
        sign = "+" if points >= 0 else "−"
        text = _("%(sign)s%(points)s pp") % {
            "sign": sign,
            "points": formats.decimal(abs(points).quantize(Decimal("0.1"))),
        }
        return [("", Change(text, direction))]

    p = previous
    return [
        Card(
            _("Revenue"),
            current.revenue,
            _money_change(current.revenue, p.revenue) if p else [],
            _("Totals of orders paid in the period, on their payment date."),
        ),
        Card(
            _("Orders"),
            formats.integer(current.orders),
            count_change(current.orders, p.orders) if p else [],
            _("Paid orders (Paid, Completed, Marked as Completed, Partially Refunded, Refunded)."),
        ),
        Card(
            _("Average order value"),
            current.aov,
            _money_change(current.aov, p.aov) if p else [],
            _("Revenue ÷ orders."),
        ),
        Card(
            _("Conversion rate"),
            percent_text(current.conversion_rate),
            rate_change(current.conversion_rate, p.conversion_rate) if p else [],
            _("Paid orders ÷ opened checkouts (%(opened)s opened in the period).")
            % {"opened": formats.integer(current.opened)},
        ),
        Card(
            _("Refunds"),
            current.refunds,
            _money_change(current.refunds, p.refunds, rising_is_good=False) if p else [],
            _("Refunds that succeeded or were recorded in the period, on that date."),
        ),
        Card(
            _("Net revenue"),
            current.net_revenue,
            _money_change(current.net_revenue, p.net_revenue) if p else [],
            _("Revenue − refunds."),
        ),
    ]


def _chart_value(
    valuation: Valuation,
) -> tuple[Callable[[queries.Sales], Number], Callable[[Number], str], str]:
    """What breakdown charts plot: converted revenue, or paid orders when currencies stay apart."""
    converter = valuation.converter
    if converter is None:
        return (lambda sales: sales.orders), (lambda n: formats.integer(int(n))), _("Paid orders")
    currency = converter.display_currency
    # A year by day formats thousands of distinct values: the language is looked up once.
    language = formats.language()

    def revenue(sales: queries.Sales) -> Number:
        return valuation.in_display_currency(sales)

    def fmt(n: Number) -> str:
        return formats.money(to_minor(Decimal(n), currency), currency, language)

    return revenue, fmt, _("Revenue in %(currency)s") % {"currency": currency}


def _breakdown_chart(breakdown: Breakdown, params: ReportParams, valuation: Valuation) -> Chart:
    value, fmt, what = _chart_value(valuation)
    top = breakdown.rows[:CHART_SERIES]
    rest = breakdown.rows[CHART_SERIES:]
    # A year by day is hundreds of buckets, most of them empty for most rows: an empty
    # bucket's value is worked out once, not valued from a new empty Sales per row and bucket.
    empty = value(queries.Sales())
    series = [
        Series(
            _(row.label),
            [
                value(sales) if (sales := row.series.get(b)) is not None else empty
                for b in breakdown.buckets
            ],
        )
        for row in top
    ]
    if rest:
        others = []
        for b in breakdown.buckets:
            merged = queries.Sales()
            for row in rest:
                if (sales := row.series.get(b)) is not None:
                    merged.merge(sales)
            others.append(value(merged) if merged.cells else empty)
        others_label = ngettext("%(count)s other", "%(count)s others", len(rest)) % {
            "count": formats.integer(len(rest))
        }
        series.append(Series(others_label, others, OTHER_COLOUR))
    return line_chart(
        title=_("%(what)s %(breakdown)s, %(per_bucket)s")
        % {
            "what": what,
            "breakdown": str(BREAKDOWN_NAMES.get(breakdown.title, breakdown.title)),
            "per_bucket": per_bucket(params.granularity),
        },
        buckets=breakdown.buckets,
        granularity=params.granularity,
        series=series,
        fmt=fmt,
    )


def _count_chart(
    title: str, counts: queries.CountSeries, params: ReportParams, colours: Mapping[str, str]
) -> Chart:
    # Categories are English keys below the web ("Accepted"); gettext leaves others as they are.
    series = [
        Series(
            _(category),
            [counts.counts.get((b, category), 0) for b in counts.buckets],
            colours.get(category, ""),
        )
        for category in counts.categories
    ]
    return stacked_bar_chart(
        title=title,
        buckets=counts.buckets,
        granularity=params.granularity,
        series=series,
        fmt=lambda n: formats.integer(int(n)),
    )


def _rates_note(converter: Converter) -> dict[str, Any]:
    by_currency: dict[str, list[Any]] = {}
    for (currency, _day), rate in sorted(converter.used.items()):
        by_currency.setdefault(currency, []).append(rate)
    summary = []
    for currency, rates in by_currency.items():
        values = [r.per_euro for r in rates]
        summary.append(
            {
                "currency": currency,
                "days": len(rates),
                "fallbacks": sum(r.is_fallback for r in rates),
                "low": min(values),
                "high": max(values),
                "newest_rate_day": max(r.rate_day for r in rates),
            }
        )
    return {
        "display_currency": converter.display_currency,
        "summary": summary,
        "rows": _rate_rows([r for rs in by_currency.values() for r in rs][:1000]),
    }


def _rate_rows(rates: list[Rate]) -> list[SafeString]:
    """The "Every rate used" table's rows. A year converted lists hundreds of rates, and
    the template engine's tags and filters over four cells a row cost more than the rest of
    the table: the same HTML is built here (dates as the `date:"Y-m-d"` filter writes them,
    the rate localized as a template variable is)."""
    fallback = format_html(' <span class="muted">{}</span>', _("(last earlier rate)"))
    return [
        mark_safe(  # noqa: S308 - the currency and the localized rate are escaped
            f"<tr><td>{conditional_escape(r.currency)}</td><td>{r.day.isoformat()}</td>"
            f"<td>{r.rate_day.isoformat()}{fallback if r.is_fallback else ''}</td>"
            f'<td class="num">{conditional_escape(localize(r.per_euro))}</td></tr>'
        )
        for r in rates
    ]


def _consent_rows(result: queries.Analytics, granularity: str) -> list[SafeString]:
    """The "Consent per day" table's rows. A year by day is 335 rows, and the template
    engine's variables and filters over five cells a row cost more than the rest of the page
    (as with `_rate_rows`): the same HTML is built here (the bucket as the `bucket` filter
    writes it, counts localized as a template variable is, the rate as `percent` writes it)."""
    counts = result.consent.counts
    rows = []
    for b in result.consent.buckets:
        cells = "".join(
            f'<td class="num">{conditional_escape(value)}</td>'
            for value in (
                localize(counts.get((b, "Accepted"), 0)),
                localize(counts.get((b, "Rejected"), 0)),
                localize(counts.get((b, "Not answered"), 0)),
                percent_text(result.consent_rate_in(b)),
            )
        )
        rows.append(
            mark_safe(  # noqa: S308 - the bucket and every cell are escaped
                f'<tr><th scope="row">{conditional_escape(bucket_label(b, granularity))}</th>'
                f"{cells}</tr>"
            )
        )
    return rows


def _report_context(checkout_ids: frozenset[int], params: ReportParams) -> dict[str, Any]:
    report = tab_report(checkout_ids, params)
    valuation, headline = report.valuation, report.headline
    context: dict[str, Any] = {
        "cards": _cards(headline.current, headline.previous),
        "previous_period": report.previous_period,
        "total_orders": headline.current.orders,
    }
    if report.sales is not None:
        context["breakdowns"] = [
            (slug, b, _breakdown_chart(b, params, valuation))
            for slug, b in (
                ("source", report.sales.sources),
                ("link", report.sales.links),
                ("offer", report.sales.offers),
            )
        ]
    if report.products is not None:
        context["products"] = report.products
    if report.international is not None:
        context["countries"] = report.international
    if report.analytics is not None:
        result = report.analytics
        context["analytics"] = result
        context["consent_chart"] = _count_chart(
            _("Consent answers, %(per_bucket)s") % {"per_bucket": per_bucket(params.granularity)},
            result.consent,
            params,
            {"Accepted": "#009E73", "Rejected": "#D55E00", "Not answered": "#BBBBBB"},
        )
        context["consent_rows"] = _consent_rows(result, params.granularity)
        context["device_chart"] = _count_chart(
            _("Opened checkouts by device, %(per_bucket)s")
            % {"per_bucket": per_bucket(params.granularity)},
            result.devices,
            params,
            {},
        )
    if report.vat is not None:
        context.update(_vat_context(report.vat))
    if valuation.converter is not None:
        context["rates"] = _rates_note(valuation.converter)
    return context


def _vat_context(vat: queries.VatReport) -> dict[str, Any]:
    """One table per currency: per rate, then in total, sales, refunds and net."""
    tables = [
        {
            "currency": total.currency,
            "rows": [
                (row.rate, (row.sales, row.refunds, row.net))
                for row in vat.rows
                if row.currency == total.currency
            ],
            "total": (total.sales, total.refunds, total.net),
        }
        for total in vat.totals
    ]
    return {"vat_tables": tables, "vat_unsplit": any(row.rate is None for row in vat.rows)}
