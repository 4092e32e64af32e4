"""The staff API's order reports (SPEC F8, F11): a tab's figures, as the reports page shows them.

Parameters are the page's (period, from, to, tz, currency, granularity) and go through the
same `ReportForm`; the figures come from the same reports.queries functions. Money is
turned from the queries' major units into integer minor units per currency here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated

from django.db.models import Min
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Query, Router
from ninja.params.functions import Path

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error
from orderdesk.api.staff_schemas import (
    AddOnRowOut,
    AnalyticsOut,
    BreakdownOut,
    BreakdownRowOut,
    BucketOut,
    CountOut,
    CountryOut,
    DeviceOut,
    FiguresOut,
    MethodOut,
    MoneyOut,
    PeriodOut,
    ProductRowOut,
    ProductSalesOut,
    RegionOut,
    ReportOut,
    ReportQuery,
    SalesTrackingOut,
)
from orderdesk.lib.money import to_minor
from orderdesk.orders.models import Order
from orderdesk.organizations.models import ApiToken
from orderdesk.reports import queries
from orderdesk.reports.exports import orders_csv_response
from orderdesk.reports.forms import ReportForm
from orderdesk.reports.params import PER_CURRENCY, ReportParams, Tab
from orderdesk.reports.periods import Preset
from orderdesk.reports.queries import Breakdown, CountSeries, Figures, Money, Scope, Valuation
from orderdesk.reports.rates import Converter

router = Router(auth=StaffToken(), tags=["reports"])


@router.get(
    "/reports/export.csv",
    response={400: Error, 401: Error, 422: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "One row per order line, by payment time, streamed.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_report(request: StaffRequest, query: Query[ReportQuery]) -> HttpResponseBase:
    """The orders counted as sales in the report's period, as CSV (the report page's export)."""
    params = _params(request.auth, query)
    period = params.period
    orders = (
        Scope(frozenset({request.auth.checkout_id}), period).paid_orders().order_by("paid_at", "pk")
    )
    filename = f"orders-paid-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"
    return orders_csv_response(orders, tz=params.tz, filename=filename)


@router.get("/reports/{tab}", response={200: ReportOut, 400: Error, 401: Error, 422: Error})
def report(
    request: StaffRequest,
    tab: Annotated[Tab, Path(description="sales, products, international or analytics.")],
    query: Query[ReportQuery],
) -> ReportOut:
    """The headline metrics of the period (and the period before) and the tab's breakdowns."""
    token = request.auth
    params = _params(token, query, tab.value)
    scope = Scope(frozenset({token.checkout_id}), params.period)
    valuation = Valuation(Converter(params.currency) if params.currency != PER_CURRENCY else None)
    compare = params.preset != Preset.ALL_TIME
    sales_out: SalesTrackingOut | None = None
    products_out: ProductSalesOut | None = None
    countries_out: list[CountryOut] | None = None
    analytics_out: AnalyticsOut | None = None
    totals = None
    if params.tab == Tab.SALES:
        tracking = queries.sales_tracking(scope, valuation, params.granularity)
        # The breakdowns already read every paid order and opened checkout of the period.
        totals = tracking.totals
        sales_out = SalesTrackingOut(
            sources=_breakdown(tracking.sources, valuation),
            links=_breakdown(tracking.links, valuation),
            offers=_breakdown(tracking.offers, valuation),
        )
    elif params.tab == Tab.PRODUCTS:
        sales = queries.product_sales(scope, valuation)
        products_out = ProductSalesOut(
            products=[
                ProductRowOut(
                    product_id=row.product_id,
                    name=row.name,
                    figures=_figures(row.figures),
                    add_on_revenue=_money(row.add_on_revenue),
                    top_offer=row.top_offer,
                    top_source=row.top_source,
                )
                for row in sales.products
            ],
            add_ons=[
                AddOnRowOut(
                    add_on_id=row.add_on_id,
                    kind=row.kind,
                    name=row.name,
                    offer=row.offer,
                    orders_with=row.orders_with,
                    offer_orders=row.offer_orders,
                    attachment_rate=row.attachment_rate,
                    revenue=_money(row.revenue),
                )
                for row in sales.add_ons
            ],
        )
    elif params.tab == Tab.INTERNATIONAL:
        countries_out = [
            CountryOut(
                country=row.country,
                figures=_figures(row.figures),
                regions=[RegionOut(region=name, figures=_figures(f)) for name, f in row.regions],
            )
            for row in queries.international(scope, valuation)
        ]
    else:
        analytics = queries.analytics(scope, valuation, params.granularity)
        analytics_out = AnalyticsOut(
            consent_rate=analytics.consent_rate,
            consent=_counts(analytics.consent),
            devices=_counts(analytics.devices),
            device_rows=[
                DeviceOut(
                    device=row.device,
                    opened=row.opened,
                    orders=row.orders,
                    conversion_rate=row.conversion_rate,
                )
                for row in analytics.device_rows
            ],
            payment_methods=[
                MethodOut(provider=row.provider, method=row.method, figures=_figures(row.figures))
                for row in analytics.methods
            ],
        )
    headline = queries.headline(scope, valuation, compare=compare, current_totals=totals)
    return ReportOut(
        tab=params.tab,
        period=PeriodOut(
            preset=params.preset,
            first_day=params.period.first_day,
            last_day=params.period.last_day,
            tz=params.tz.key,
            granularity=params.granularity,
            currency=params.currency or None,
        ),
        headline=_figures(headline.current),
        previous=_figures(headline.previous) if headline.previous else None,
        sales=sales_out,
        products=products_out,
        international=countries_out,
        analytics=analytics_out,
    )


def _params(token: ApiToken, query: ReportQuery, tab: str = "") -> ReportParams:
    """The parameters through the report page's form."""

    def first_order_at() -> dt.datetime | None:
        first: dt.datetime | None = Order.objects.for_token(token).aggregate(
            first=Min("created_at")
        )["first"]
        return first

    data = {**query.model_dump(mode="json", by_alias=True, exclude_none=True), "tab": tab}
    form = ReportForm(
        data,
        default_tz=token.checkout.organization.time_zone,
        now=timezone.now(),
        first_order_at=first_order_at,
    )
    if errors := form.messages():
        raise InvalidParameters(errors)
    return form.params


def _money(money: Money) -> list[MoneyOut]:
    return [
        MoneyOut(currency=currency, amount_minor=to_minor(amount, currency))
        for currency, amount in sorted(money.items())
    ]


def _figures(figures: Figures) -> FiguresOut:
    return FiguresOut(
        revenue=_money(figures.revenue),
        orders=figures.orders,
        opened=figures.opened,
        average_order_value=_money(figures.aov),
        conversion_rate=figures.conversion_rate,
        impression_value=_money(figures.impression_value),
        refunds=_money(figures.refunds),
        net_revenue=_money(figures.net_revenue),
    )


def _breakdown(breakdown: Breakdown, valuation: Valuation) -> BreakdownOut:
    return BreakdownOut(
        title=breakdown.title,
        rows=[
            BreakdownRowOut(
                key=None if row.key is None else str(row.key),
                label=row.label,
                figures=_figures(row.figures),
                series=[
                    BucketOut(
                        bucket=bucket,
                        orders=sales.orders,
                        revenue=_money(valuation.total(sales)),
                    )
                    for bucket, sales in _in_buckets(breakdown.buckets, row.series)
                ],
            )
            for row in breakdown.rows
        ],
    )


def _in_buckets(
    buckets: Iterable[dt.date], series: Mapping[dt.date, queries.Sales]
) -> Iterable[tuple[dt.date, queries.Sales]]:
    return ((bucket, series.get(bucket, queries.Sales())) for bucket in buckets)


def _counts(series: CountSeries) -> list[CountOut]:
    return [
        CountOut(bucket=bucket, category=category, count=series.counts.get((bucket, category), 0))
        for bucket in series.buckets
        for category in series.categories
    ]
