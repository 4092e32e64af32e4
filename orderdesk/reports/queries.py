"""Report figures, built from a few grouped queries per tab.

Definitions (also on the page and in docs/reports.md):

- An order is a sale when it has been paid (Paid, Completed, Marked as Completed, Partially
  Refunded, Refunded); it counts on its payment date (`paid_at`) in the report's time zone.
- Revenue is the sum of those orders' totals; orders is their number; AOV = revenue ÷ orders.
- Refunds count on the day they succeeded (or were recorded); reversed refunds do not count.
  Net revenue = revenue − refunds.
- Opened checkouts are the orders created in the period (an order is opened with the checkout
  page); conversion rate = paid orders ÷ opened checkouts; impression value = conversion rate ×
  AOV, which is revenue ÷ opened checkouts.

Every money query groups by currency and local day, and nothing adds two currencies in SQL:
`Valuation` either keeps currencies apart or converts each (currency, day) sum with that day's
ECB rate.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_noop

from orderdesk.catalog.models import AddOn, CheckoutLink, Offer, Product
from orderdesk.lib.money import to_major, to_minor
from orderdesk.orders.models import DeviceType, LineKind, Order
from orderdesk.reports import rollups
from orderdesk.reports.facts import Facts, LiveFacts, Per, Row, Split, facts_for
from orderdesk.reports.periods import Period, bucket_of, buckets
from orderdesk.reports.rates import Converter

ADD_ON_KINDS = (LineKind.ORDER_BUMP, LineKind.PRE_UPSELL, LineKind.UPGRADE)
NO_SOURCE = gettext_noop("(no source)")

# Money in major units per currency; never added across currencies.
Money = dict[str, Decimal]


@dataclass(frozen=True)
class Scope:
    """The checkouts a report reads and the period it covers."""

    checkout_ids: frozenset[int]
    period: Period

    def with_period(self, period: Period) -> Scope:
        return Scope(self.checkout_ids, period)

    def paid_orders(self) -> QuerySet[Order]:
        return LiveFacts(
            self.checkout_ids, self.period.start, self.period.end, self.period.tz
        ).paid_orders()

    @cached_property
    def facts(self) -> Facts:
        """The period's grouped rows: from the daily rollup where it can, else live.

        Days still counting a refund the provider has since reversed are rebuilt first, so
        the rollup never disagrees with the live tables (a query on a small partial index
        when there are none)."""
        rollups.refresh_stale_refunds(self.checkout_ids)
        return facts_for(self.checkout_ids, self.period)


class Sales:
    """Amounts and order counts per (currency, local day): what every figure is built from.

    The day is a bucket's first day where rows were split by week or month, and None where
    they were not split in time at all (see `Valuation.per`).
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[str, dt.date | None], list[int]] = {}

    def add(self, currency: str, day: dt.date | None, amount_minor: int, orders: int) -> None:
        # A year by day adds tens of thousands of rows: no defaultdict factory call per cell.
        cell = self.cells.get((currency, day))
        if cell is None:
            self.cells[(currency, day)] = [amount_minor, orders]
        else:
            cell[0] += amount_minor
            cell[1] += orders

    def merge(self, other: Sales) -> None:
        for (currency, day), (amount, orders) in other.cells.items():
            self.add(currency, day, amount, orders)

    @property
    def orders(self) -> int:
        return sum(orders for _, orders in self.cells.values())

    def orders_by_currency(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (currency, _), (_, orders) in self.cells.items():
            counts[currency] += orders
        return counts


@dataclass
class Valuation:
    """How money is shown: per currency (no converter) or converted into one currency."""

    converter: Converter | None = None

    def per(self, granularity: str | None = None) -> Per:
        """How finely sums must be split in time: by the chart's buckets (`granularity`), or
        not at all for a table (None); when converting, other currencies by day, since each
        payment day has its own rate."""
        if self.converter is None:
            return granularity
        return Split("day", self.converter.display_currency, granularity)

    @property
    def display_currency(self) -> str | None:
        return self.converter.display_currency if self.converter else None

    def total(self, sales: Sales) -> Money:
        if self.converter is not None:
            if not sales.cells:
                return {}
            return {self.converter.display_currency: self.in_display_currency(sales)}
        money: Money = defaultdict(Decimal)
        for (currency, _), (amount, _) in sales.cells.items():
            money[currency] += to_major(amount, currency)
        return dict(money)

    def in_display_currency(self, sales: Sales) -> Decimal:
        """A converted `total(sales)` as one amount, without the dict (a chart's point: a
        year by day plots thousands)."""
        converter = self.converter
        assert converter is not None, "only a converted report has one currency"
        return converter.sum_to_display(sales.cells.items())

    def counts(self, counts: Mapping[str, int]) -> Counter[str]:
        """Per-currency counts, or everything under the display currency when converting."""
        if self.converter is None:
            return Counter(counts)
        return Counter({self.converter.display_currency: sum(counts.values())})

    def scalar(self, money: Money) -> Decimal | None:
        """One number for charts: the converted amount (None in per-currency mode)."""
        if self.converter is None:
            return None
        return money.get(self.converter.display_currency, Decimal(0))


def _divide(money: Money, counts: Mapping[str, int]) -> Money:
    return {c: amount / counts[c] for c, amount in money.items() if counts.get(c)}


def _subtract(a: Money, b: Money) -> Money:
    return {c: a.get(c, Decimal(0)) - b.get(c, Decimal(0)) for c in sorted(set(a) | set(b))}


def ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass
class Figures:
    """The metrics of one row or card set, already valued in the report's currency mode."""

    revenue: Money
    orders: int
    orders_by_currency: Counter[str]
    opened: int
    opened_by_currency: Counter[str]
    refunds: Money = field(default_factory=dict)

    @property
    def net_revenue(self) -> Money:
        return _subtract(self.revenue, self.refunds)

    @property
    def aov(self) -> Money:
        return _divide(self.revenue, self.orders_by_currency)

    @property
    def conversion_rate(self) -> Decimal | None:
        return ratio(self.orders, self.opened)

    @property
    def impression_value(self) -> Money:
        # conversion rate × AOV = (orders ÷ opened) × (revenue ÷ orders) = revenue ÷ opened,
        # per currency of the opened checkouts.
        return _divide(self.revenue, self.opened_by_currency)


def figures(
    valuation: Valuation,
    sales: Sales,
    opened: Mapping[str, int] | None = None,
    refunds: Sales | None = None,
) -> Figures:
    opened = opened or {}
    return Figures(
        revenue=valuation.total(sales),
        orders=sales.orders,
        orders_by_currency=valuation.counts(sales.orders_by_currency()),
        opened=sum(opened.values()),
        opened_by_currency=valuation.counts(opened),
        refunds=valuation.total(refunds) if refunds is not None else {},
    )


# --- the grouped queries -------------------------------------------------------------------


def _fold_sales[K: Hashable](rows: Iterable[Any], key: Callable[[Any], K]) -> dict[K, Sales]:
    result: dict[K, Sales] = defaultdict(Sales)
    for row in rows:
        result[key(row)].add(row["cur"], row["day"], row["amount"] or 0, row["n"])
    return result


def _count_by[K: Hashable](rows: Iterable[Any], key: Callable[[Any], K]) -> Counter[K]:
    counts: Counter[K] = Counter()
    for row in rows:
        counts[key(row)] += row["n"]
    return counts


def _refund_sales(scope: Scope, valuation: Valuation) -> Sales:
    sales = Sales()
    for row in scope.facts.refunds(per=valuation.per()):
        sales.add(row["cur"], row["day"], row["amount"] or 0, row["n"])
    return sales


# --- headline ----------------------------------------------------------------------------


@dataclass
class Headline:
    current: Figures
    previous: Figures | None


@dataclass
class PeriodTotals:
    """All paid sales and opened checkouts of a period, before valuation. Opened checkouts
    are counted per currency, or all under None where a converted report read them without
    it (`Valuation.counts` puts them under the display currency either way)."""

    sales: Sales
    opened: Counter[str]

    @classmethod
    def of(cls, facts: Iterable[Row], opened_facts: Iterable[Row]) -> PeriodTotals:
        sales = Sales()
        for row in facts:
            sales.add(row["cur"], row["day"], row["amount"] or 0, row["n"])
        return cls(sales, _count_by(opened_facts, lambda r: r["cur"]))


def headline_figures(
    scope: Scope, valuation: Valuation, totals: PeriodTotals | None = None
) -> Figures:
    """The headline of the period; pass `totals` when a finer query already read them."""
    if totals is None:
        totals = PeriodTotals.of(
            scope.facts.sales(per=valuation.per()), scope.facts.opened(per=None)
        )
    return figures(valuation, totals.sales, totals.opened, _refund_sales(scope, valuation))


def headline(
    scope: Scope,
    valuation: Valuation,
    *,
    previous: Period | None,
    current_totals: PeriodTotals | None = None,
) -> Headline:
    """The period's figures, and those of `previous` (`periods.comparison_period`) if any."""
    current = headline_figures(scope, valuation, current_totals)
    before = headline_figures(scope.with_period(previous), valuation) if previous else None
    return Headline(current, before)


# --- breakdowns with a time series -------------------------------------------------------


@dataclass(frozen=True)
class BucketFigures:
    bucket: dt.date
    orders: int
    revenue: Money


@dataclass
class BreakdownRow:
    key: Hashable
    label: str
    figures: Figures
    # Per bucket start: the row's sales in that bucket (for the chart).
    series: dict[dt.date, Sales]
    # Every bucket of the period (shared by the breakdown's rows), and how money is shown.
    buckets: list[dt.date]
    valuation: Valuation
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bucket_figures(self) -> list[BucketFigures]:
        """The row's orders and revenue in each bucket of the period, empty ones too."""
        empty = Sales()
        return [
            BucketFigures(bucket, sales.orders, self.valuation.total(sales))
            for bucket, sales in ((b, self.series.get(b, empty)) for b in self.buckets)
        ]


@dataclass
class Breakdown:
    title: str
    rows: list[BreakdownRow]
    buckets: list[dt.date]


def _series(sales: Sales, granularity: str) -> dict[dt.date, Sales]:
    series: dict[dt.date, Sales] = defaultdict(Sales)
    for (currency, day), (amount, orders) in sales.cells.items():
        assert day is not None, "a time series needs sums per day"
        series[bucket_of(day, granularity)].add(currency, day, amount, orders)
    return dict(series)


def _rank(rows: list[BreakdownRow]) -> list[BreakdownRow]:
    return sorted(rows, key=lambda r: (-r.figures.orders, -r.figures.opened, r.label))


def _breakdown(
    title: str,
    scope: Scope,
    valuation: Valuation,
    granularity: str,
    sales_by_key: Mapping[Hashable, Sales],
    opened_by_key: Mapping[Hashable, Counter[str]],
    labels: Mapping[Hashable, str],
) -> Breakdown:
    period_buckets = buckets(scope.period, granularity)
    rows = [
        BreakdownRow(
            key=key,
            label=labels.get(key, str(key)),
            figures=figures(valuation, sales_by_key.get(key, Sales()), opened_by_key.get(key)),
            series=_series(sales_by_key.get(key, Sales()), granularity),
            buckets=period_buckets,
            valuation=valuation,
        )
        for key in set(sales_by_key) | set(opened_by_key)
    ]
    return Breakdown(title, _rank(rows), period_buckets)


@dataclass
class SalesTracking:
    sources: Breakdown
    links: Breakdown
    offers: Breakdown
    totals: PeriodTotals


def _names(model: Any, ids: Iterable[Any]) -> dict[Hashable, str]:
    wanted = {i for i in ids if i is not None}
    return dict(model.objects.filter(pk__in=wanted).values_list("pk", "name"))


def sales_tracking(scope: Scope, valuation: Valuation, granularity: str) -> SalesTracking:
    """Sales by source, by checkout link and by offer, from one grouped scan of each kind."""
    facts = scope.facts.sales("source", "link_id", "offer_id", per=valuation.per(granularity))
    opened_facts = scope.facts.opened("source", "link_id", "offer_id", per=None)

    def opened_by(key: str) -> dict[Hashable, Counter[str]]:
        result: dict[Hashable, Counter[str]] = defaultdict(Counter)
        for row in opened_facts:
            result[row[key]][row["cur"]] += row["n"]
        return result

    link_names = _names(CheckoutLink, [r["link_id"] for r in facts + opened_facts])
    offer_names = _names(Offer, [r["offer_id"] for r in facts + opened_facts])
    link_names[None] = gettext_noop("(no link)")
    offer_names[None] = gettext_noop("(no offer)")
    sources = {r["source"]: r["source"] or NO_SOURCE for r in facts + opened_facts}

    def part(title: str, key: str, labels: dict[Hashable, str]) -> Breakdown:
        return _breakdown(
            title,
            scope,
            valuation,
            granularity,
            _fold_sales(facts, lambda r: r[key]),
            opened_by(key),
            labels,
        )

    return SalesTracking(
        sources=part(gettext_noop("By source"), "source", dict(sources)),
        links=part(gettext_noop("By checkout link"), "link_id", link_names),
        offers=part(gettext_noop("By offer"), "offer_id", offer_names),
        totals=PeriodTotals.of(facts, opened_facts),
    )


# --- products and add-ons ----------------------------------------------------------------


@dataclass
class ProductRow:
    product_id: int | None
    name: str
    figures: Figures
    add_on_revenue: Money
    top_offer: str
    top_source: str

    @property
    def add_on_share(self) -> dict[str, Decimal]:
        """Per currency, in the order of the currency codes as amounts are shown: the share of
        the revenue that came from bumps, pre-upsells, upgrades."""
        return {
            currency: (self.add_on_revenue.get(currency, Decimal(0)) / total).quantize(
                Decimal("0.0001"), ROUND_HALF_UP
            )
            for currency, total in sorted(self.figures.revenue.items())
            if total
        }


@dataclass
class AddOnRow:
    add_on_id: int
    kind: str
    name: str
    offer: str
    orders_with: int
    offer_orders: int
    revenue: Money

    @property
    def attachment_rate(self) -> Decimal | None:
        return ratio(self.orders_with, self.offer_orders)


@dataclass
class ProductSales:
    products: list[ProductRow]
    add_ons: list[AddOnRow]


def _top(counts: Mapping[tuple[Any, Any], int], labels: Mapping[Any, str]) -> dict[Any, str]:
    best: dict[Any, tuple[int, Any]] = {}
    for (product_id, key), n in counts.items():
        if product_id not in best or n > best[product_id][0]:
            best[product_id] = (n, key)
    return {pid: labels.get(key, str(key)) for pid, (_, key) in best.items()}


def product_sales(scope: Scope, valuation: Valuation) -> ProductSales:
    # One line per product per order is the rule, so lines count orders without a costly
    # DISTINCT.
    line_rows = scope.facts.lines("product_id", "kind", "add_on_id", per=valuation.per())
    total: dict[Any, Sales] = defaultdict(Sales)
    from_add_ons: dict[Any, Sales] = defaultdict(Sales)
    for row in line_rows:
        pid = row["product_id"]
        total[pid].add(row["cur"], row["day"], row["amount"] or 0, row["n"])
        if row["kind"] in ADD_ON_KINDS:
            from_add_ons[pid].add(row["cur"], row["day"], row["amount"] or 0, row["n"])
    names = _names(Product, total)

    by_offer = _count_by(
        scope.facts.lines("product_id", "offer_id", per=None),
        lambda r: (r["product_id"], r["offer_id"]),
    )
    by_source = _count_by(
        scope.facts.lines("product_id", "source", per=None),
        lambda r: (r["product_id"], r["source"]),
    )
    offer_labels: dict[Any, str] = dict(_names(Offer, [k for _, k in by_offer]))
    offer_labels[None] = gettext_noop("(no offer)")
    top_offer = _top(by_offer, offer_labels)
    top_source = _top(by_source, {k: k or NO_SOURCE for _, k in by_source})

    products = [
        ProductRow(
            product_id=pid,
            name=names.get(pid, "(deleted product)"),
            figures=figures(valuation, sales),
            add_on_revenue=valuation.total(from_add_ons.get(pid, Sales())),
            top_offer=top_offer.get(pid, ""),
            top_source=top_source.get(pid, ""),
        )
        for pid, sales in total.items()
    ]
    products.sort(key=lambda p: (-p.figures.orders, p.name))
    return ProductSales(products, _add_on_rows(scope, valuation, line_rows))


def _add_on_rows(
    scope: Scope, valuation: Valuation, line_rows: Sequence[Mapping[str, Any]]
) -> list[AddOnRow]:
    add_on_sales: dict[Any, Sales] = _fold_sales(
        (r for r in line_rows if r["add_on_id"] is not None), lambda r: r["add_on_id"]
    )
    offer_orders = _count_by(scope.facts.sales("offer_id", per=None), lambda r: r["offer_id"])
    add_ons = AddOn.objects.filter(offer__checkout_id__in=scope.checkout_ids).select_related(
        "offer", "product"
    )
    rows = []
    for add_on in add_ons:
        sales = add_on_sales.get(add_on.pk, Sales())
        rows.append(
            AddOnRow(
                add_on_id=add_on.pk,
                kind=add_on.get_kind_display()
                + (" (upgrade)" if add_on.effect == "upgrade" else ""),
                name=add_on.title or add_on.product.name,
                offer=add_on.offer.name,
                orders_with=sales.orders,
                offer_orders=offer_orders.get(add_on.offer_id, 0),
                revenue=valuation.total(sales),
            )
        )
    rows.sort(key=lambda r: (r.offer, -(r.attachment_rate or 0), r.name))
    return rows


# --- international -----------------------------------------------------------------------


@dataclass
class CountryRow:
    country: str
    figures: Figures
    regions: list[tuple[str, Figures]]


def place_sales(scope: Scope, valuation: Valuation) -> list[Row]:
    """The period's paid orders by country and region: the international tab's rows."""
    return scope.facts.sales("country", "region", per=valuation.per())


def international(
    scope: Scope, valuation: Valuation, facts: list[Row] | None = None
) -> list[CountryRow]:
    """Countries and their regions; pass `facts` (`place_sales`) when they were read already."""
    if facts is None:
        facts = place_sales(scope, valuation)
    by_country = _fold_sales(facts, lambda r: r["country"])
    by_region = _fold_sales(facts, lambda r: (r["country"], r["region"]))
    rows = []
    for country, sales in by_country.items():
        regions = [
            (region or gettext_noop("(no region)"), figures(valuation, region_sales))
            for (c, region), region_sales in by_region.items()
            if c == country
        ]
        regions.sort(key=lambda r: (-r[1].orders, r[0]))
        rows.append(CountryRow(str(country), figures(valuation, sales), regions))
    rows.sort(key=lambda r: (-r.figures.orders, r.country))
    return rows


# --- analytics ---------------------------------------------------------------------------


@dataclass
class CountSeries:
    """Counts per bucket and category, e.g. consent answers or devices per week."""

    buckets: list[dt.date]
    categories: list[str]
    counts: dict[tuple[dt.date, str], int]

    def total(self, category: str) -> int:
        return sum(n for (_, c), n in self.counts.items() if c == category)


@dataclass
class DeviceRow:
    device: str
    opened: int
    orders: int

    @property
    def conversion_rate(self) -> Decimal | None:
        return ratio(self.orders, self.opened)


@dataclass
class MethodRow:
    provider: str
    method: str
    figures: Figures


@dataclass
class Analytics:
    consent: CountSeries
    devices: CountSeries
    device_rows: list[DeviceRow]
    methods: list[MethodRow]
    # The period's paid orders and opened checkouts, from the rows the charts and the device
    # table read: the headline needs no reads of its own.
    totals: PeriodTotals

    @property
    def consent_rate(self) -> Decimal | None:
        accepted = self.consent.total("Accepted")
        return ratio(accepted, accepted + self.consent.total("Rejected"))

    def consent_rate_in(self, bucket: dt.date) -> Decimal | None:
        accepted = self.consent.counts.get((bucket, "Accepted"), 0)
        return ratio(accepted, accepted + self.consent.counts.get((bucket, "Rejected"), 0))


# English keys; the page translates them for display (the `translated` filter).
CONSENT_LABELS = {
    True: gettext_noop("Accepted"),
    False: gettext_noop("Rejected"),
    None: gettext_noop("Not answered"),
}


def _count_series(
    scope: Scope,
    granularity: str,
    opened: Iterable[Row],
    column: str,
    labels: Callable[[Any], str],
    order: Sequence[str],
) -> CountSeries:
    """Opened checkouts per bucket and value of `column` (consent answer, device)."""
    # Added up per (day, value) first: a year by day is thousands of rows (one per currency,
    # and the other column's values) but a few distinct keys to bucket and label.
    per_day: Counter[tuple[Any, Any]] = Counter()
    for row in opened:
        per_day[(row["day"], row[column])] += row["n"]
    counts: Counter[tuple[Any, str]] = Counter()
    for (day, value), n in per_day.items():
        counts[(bucket_of(day, granularity), labels(value))] += n
    seen = {c for _, c in counts}
    return CountSeries(
        buckets(scope.period, granularity),
        [c for c in order if c in seen] + sorted(seen - set(order)),
        dict(counts),
    )


def analytics(scope: Scope, valuation: Valuation, granularity: str) -> Analytics:
    # Plain strings in the active language (the staff API answers in English).
    device_labels = {value: str(label) for value, label in DeviceType.choices}
    # Both charts from one grouped read: a year by day in another time zone reads its hours once.
    # The charts count checkouts of any currency; only the headline's per-currency figures
    # need them apart, and converted it has one currency: then read without it (a year by day
    # is a third of the rows).
    opened = scope.facts.opened(
        "analytics_consent",
        "device_type",
        per=granularity,
        by_currency=valuation.converter is None,
    )
    consent = _count_series(
        scope,
        granularity,
        opened,
        "analytics_consent",
        CONSENT_LABELS.__getitem__,
        list(CONSENT_LABELS.values()),
    )
    devices = _count_series(
        scope,
        granularity,
        opened,
        "device_type",
        lambda d: device_labels.get(d, d),
        list(device_labels.values()),
    )
    # Split in time as the headline needs them (by day when converting), so that they are
    # the headline's figures too; the device table only counts them.
    paid = scope.facts.sales("device_type", per=valuation.per())
    paid_by_device = _count_by(paid, lambda r: r["device_type"])
    device_rows = [
        DeviceRow(
            device=label,
            opened=devices.total(label),
            orders=paid_by_device.get(value, 0),
        )
        for value, label in device_labels.items()
        if devices.total(label) or paid_by_device.get(value)
    ]
    method_sales = _fold_sales(
        scope.facts.payments(per=valuation.per()), lambda r: (r["provider"], r["method"])
    )
    methods = [
        MethodRow(str(provider), str(method), figures(valuation, sales))
        for (provider, method), sales in method_sales.items()
    ]
    methods.sort(key=lambda m: (-m.figures.orders, m.provider, m.method))
    return Analytics(consent, devices, device_rows, methods, PeriodTotals.of(paid, opened))


# --- VAT per rate ------------------------------------------------------------------------


@dataclass(frozen=True)
class VatAmounts:
    """Money at one VAT rate in minor units of the row's currency: the gross (VAT included)
    and the VAT in it; the taxable base is what is left, so each row adds up."""

    gross_minor: int = 0
    vat_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.vat_minor

    def __sub__(self, other: VatAmounts) -> VatAmounts:
        return VatAmounts(self.gross_minor - other.gross_minor, self.vat_minor - other.vat_minor)


@dataclass(frozen=True)
class VatFigures:
    """Sales, refunds and what is left of them at one rate (or all rates) in one currency."""

    currency: str
    sales: VatAmounts
    refunds: VatAmounts

    @property
    def net(self) -> VatAmounts:
        return self.sales - self.refunds


@dataclass(frozen=True)
class VatRateRow(VatFigures):
    # None: refunds not tied to any product line (one made in a provider's dashboard for
    # more than the order's lines had left), whose VAT nobody can split.
    rate: Decimal | None = None


@dataclass
class VatReport:
    """VAT per rate of a period, for bookkeeping: sales on the payment day of their orders,
    refunds on their booking day (the Refunds card's refunds, line by line)."""

    rows: list[VatRateRow]
    totals: list[VatFigures]


def _vat_money(valuation: Valuation, rows: Iterable[Row]) -> dict[Any, tuple[Money, Money]]:
    """Per rate: (gross, VAT) valued in the report's currency mode."""
    gross: dict[Any, Sales] = defaultdict(Sales)
    vat: dict[Any, Sales] = defaultdict(Sales)
    for row in rows:
        gross[row["vat_rate"]].add(row["cur"], row["day"], row["amount"] or 0, row["n"])
        vat[row["vat_rate"]].add(row["cur"], row["day"], row["vat"] or 0, 0)
    return {rate: (valuation.total(gross[rate]), valuation.total(vat[rate])) for rate in gross}


def vat_report(scope: Scope, valuation: Valuation) -> VatReport:
    """Sales, refunds and net per VAT rate and currency (one currency when converting).

    The rates are the ones the lines were sold at. Refunds count exactly as the Refunds card
    counts them: a booked refund's lines at their order line's rate, and any part of it not
    on a line (see `VatRateRow.rate`) without a rate, so the refunds' gross adds up to the
    card.
    """
    per = valuation.per()
    facts = scope.facts
    refund_lines = facts.refund_vat(per=per)
    # What counted refunds returned beyond their lines, per (currency, day).
    unsplit = Sales()
    for row in facts.refunds(per=per):
        unsplit.add(row["cur"], row["day"], row["amount"] or 0, 0)
    for row in refund_lines:
        unsplit.add(row["cur"], row["day"], -(row["amount"] or 0), 0)
    unsplit_rows = [
        {"vat_rate": None, "cur": currency, "day": day, "amount": amount, "vat": 0, "n": 0}
        for (currency, day), (amount, _) in unsplit.cells.items()
        if amount
    ]
    sold = _vat_money(valuation, facts.vat(per=per))
    refunded = _vat_money(valuation, [*refund_lines, *unsplit_rows])

    def amounts(money: tuple[Money, Money] | None, currency: str) -> VatAmounts:
        if money is None:
            return VatAmounts()
        gross, vat = money
        return VatAmounts(
            to_minor(gross.get(currency, Decimal(0)), currency),
            to_minor(vat.get(currency, Decimal(0)), currency),
        )

    rows: list[VatRateRow] = []
    for rate in set(sold) | set(refunded):
        currencies = {
            c for money in (sold.get(rate), refunded.get(rate)) if money for c in money[0]
        }
        for currency in currencies:
            rate_row = VatRateRow(
                currency,
                amounts(sold.get(rate), currency),
                amounts(refunded.get(rate), currency),
                rate,
            )
            if rate_row.sales != VatAmounts() or rate_row.refunds != VatAmounts():
                rows.append(rate_row)
    # Per currency, the highest rate first; refunds without a rate last.
    rows.sort(key=lambda r: (r.currency, r.rate is None, -(r.rate or 0)))
    totals = []
    for currency in sorted({r.currency for r in rows}):
        mine = [r for r in rows if r.currency == currency]
        totals.append(
            VatFigures(
                currency,
                VatAmounts(
                    sum(r.sales.gross_minor for r in mine), sum(r.sales.vat_minor for r in mine)
                ),
                VatAmounts(
                    sum(r.refunds.gross_minor for r in mine),
                    sum(r.refunds.vat_minor for r in mine),
                ),
            )
        )
    return VatReport(rows, totals)
