"""A tab of the reports (SPEC F8): the headline figures of the period (and of the one before)
and the tab's own part. Read by the reports page and the staff API's report; only the chosen
tab's queries run.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderdesk.lib.replica import reads_replica
from orderdesk.reports import queries
from orderdesk.reports.params import PER_CURRENCY, ReportParams, Tab
from orderdesk.reports.periods import Period, comparison_period
from orderdesk.reports.queries import Headline, Scope, Valuation
from orderdesk.reports.rates import Converter


@dataclass(frozen=True)
class TabReport:
    params: ReportParams
    valuation: Valuation
    headline: Headline
    # The period the headline compares with; None for all time, which has none before it.
    previous_period: Period | None
    # The chosen tab's part; the others stay None.
    sales: queries.SalesTracking | None = None
    products: queries.ProductSales | None = None
    international: list[queries.CountryRow] | None = None
    analytics: queries.Analytics | None = None
    vat: queries.VatReport | None = None


def _valuation(params: ReportParams) -> Valuation:
    return Valuation(Converter(params.currency) if params.currency != PER_CURRENCY else None)


@reads_replica
def vat_report(checkout_ids: frozenset[int], params: ReportParams) -> queries.VatReport:
    """The VAT tab's table alone (its CSV export), in the parameters' period and currency."""
    return queries.vat_report(Scope(checkout_ids, params.period), _valuation(params))


@reads_replica
def tab_report(checkout_ids: frozenset[int], params: ReportParams) -> TabReport:
    """The report of `params.tab` over these checkouts' orders."""
    scope = Scope(checkout_ids, params.period)
    valuation = _valuation(params)
    previous_period = comparison_period(params.preset, params.period)
    sales = products = international = analytics = vat = None
    current_totals = None
    if params.tab == Tab.SALES:
        sales = queries.sales_tracking(scope, valuation, params.granularity)
        # The breakdowns read every paid order and opened checkout already: no second scan.
        current_totals = sales.totals
    elif params.tab == Tab.PRODUCTS:
        products = queries.product_sales(scope, valuation)
    elif params.tab == Tab.INTERNATIONAL:
        # The countries read every paid order of the period, split in time as the headline
        # needs them: the headline adds those rows up instead of reading them again (in
        # another zone, converted, that second read is a year of hourly rows).
        place = queries.place_sales(scope, valuation)
        international = queries.international(scope, valuation, place)
        current_totals = queries.PeriodTotals.of(place, scope.facts.opened(per=None))
    elif params.tab == Tab.ANALYTICS:
        analytics = queries.analytics(scope, valuation, params.granularity)
        current_totals = analytics.totals
    elif params.tab == Tab.VAT:
        vat = queries.vat_report(scope, valuation)
    return TabReport(
        params=params,
        valuation=valuation,
        headline=queries.headline(
            scope, valuation, previous=previous_period, current_totals=current_totals
        ),
        previous_period=previous_period,
        sales=sales,
        products=products,
        international=international,
        analytics=analytics,
        vat=vat,
    )
