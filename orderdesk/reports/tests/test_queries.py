from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderdesk.orders.models import DeviceType, Order, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.reports import facts, rollups
from orderdesk.reports.models import ZoneRollup
from orderdesk.reports.periods import Granularity, Period, midnight
from orderdesk.reports.queries import (
    Figures,
    ProductRow,
    Scope,
    Valuation,
    analytics,
    headline,
    headline_figures,
    international,
    product_sales,
    sales_tracking,
)
from orderdesk.reports.rates import Converter
from orderdesk.testing import factories

HELSINKI = ZoneInfo("Europe/Helsinki")
UTC = ZoneInfo("UTC")


@pytest.fixture(
    autouse=True,
    params=["live", "rolled", "half-rolled", "hourly", "half-hourly", "zone-days"],
)
def figures_from(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs six times: on the live tables, on a daily rollup holding the
    whole period and one holding its first half (the rest live), the same with the
    organization in another time zone, so that the report reads the hourly rollup, and with
    the days of the report's own zone rolled up as a member's zone is. The figures must
    agree."""
    if request.param == "live":
        return "live"
    real_facts_for = facts.facts_for
    hourly = request.param.endswith("hourly")
    zoned = request.param == "zone-days"

    def rolled_facts_for(checkout_ids: frozenset[int], period: Period) -> facts.Facts:
        settled = period.last_day + dt.timedelta(days=1)
        if request.param.startswith("half"):
            settled = period.first_day + dt.timedelta(days=period.days // 2)
        # The daily rollup's days are the organization's: make them the report's, or (hourly)
        # those of a zone whose midnight comes after the report's (UTC-12), so that its
        # settled days reach as far.
        zone = period.tz
        if hourly or zoned:
            zone = ZoneInfo("Etc/GMT+12" if period.tz.key != "Etc/GMT+12" else "UTC")
        now = midnight(settled + rollups.SETTLED_AFTER, zone) + dt.timedelta(hours=1)
        # Only the zone-days variant keeps the report's zone: a report in another zone asks
        # for its days, and the next rollup would build them.
        ZoneRollup.objects.all().delete()
        for checkout in Checkout.objects.filter(pk__in=checkout_ids).select_related("organization"):
            checkout.organization.time_zone = zone.key
            checkout.organization.save(update_fields=["time_zone"])
            if zoned:
                # As a report in that zone asks for it (a member's zone needs no asking).
                ZoneRollup.objects.create(checkout=checkout, time_zone=period.tz.key, asked_at=now)
            rollups.rebuild(checkout, now=now)
        result = real_facts_for(checkout_ids, period)
        kinds = [type(part) for part in result.parts]
        if zoned:
            assert kinds == [facts.RolledFacts]
            assert result.parts[0].zone == period.tz.key  # type: ignore[union-attr]
        elif hourly:
            assert kinds == [facts.HourFacts]
            until = result.parts[0].until  # type: ignore[union-attr]
            if request.param == "hourly":
                assert until >= period.end
            elif period.days > 1:
                assert period.start < until < period.end
        elif request.param == "rolled":
            assert kinds == [facts.RolledFacts]
        elif period.days > 1:
            assert kinds == [facts.RolledFacts, facts.LiveFacts]
        return result

    monkeypatch.setattr("orderdesk.reports.queries.facts_for", rolled_facts_for)
    return str(request.param)


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC)


def sale(world: factories.World, paid_at: str, **fields: Any) -> Order:
    return factories.order(world, created_at=at(paid_at), **fields)


def scope(world: factories.World, first: str, last: str, tz: ZoneInfo = HELSINKI) -> Scope:
    period = Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last), tz)
    return Scope(frozenset({world.checkout.pk}), period)


def refund(
    order: Order, amount_minor: int, settled_at: str, status: str = RefundStatus.SUCCEEDED
) -> Refund:
    return Refund.objects.create(
        order=order,
        status=status,
        amount_minor=amount_minor,
        currency=order.currency,
        idempotency_key=uuid.uuid4().hex,
        settled_at=at(settled_at),
    )


def daily_orders(s: Scope, granularity: str = Granularity.DAY) -> dict[str, int]:
    (row,) = sales_tracking(s, Valuation(), granularity).sources.rows
    return {day.isoformat(): sales.orders for day, sales in sorted(row.series.items())}


def test_it_buckets_local_days_across_the_spring_dst_change(world: factories.World) -> None:
    # 29 March 2026 in Helsinki runs from 22:00 UTC on the 28th to 21:00 UTC on the 29th.
    sale(world, "2026-03-28T21:59:59+00:00")
    sale(world, "2026-03-28T22:00:00+00:00")
    sale(world, "2026-03-29T20:59:59+00:00")
    sale(world, "2026-03-29T21:00:00+00:00")
    assert daily_orders(scope(world, "2026-03-28", "2026-03-30")) == {
        "2026-03-28": 1,
        "2026-03-29": 2,
        "2026-03-30": 1,
    }


def test_it_buckets_local_days_across_the_autumn_dst_change(world: factories.World) -> None:
    # 25 October 2026 has 25 hours in Helsinki: 21:00 UTC on the 24th to 22:00 UTC on the 25th.
    sale(world, "2026-10-24T20:59:59+00:00")
    sale(world, "2026-10-24T21:00:00+00:00")
    sale(world, "2026-10-25T21:59:59+00:00")
    sale(world, "2026-10-25T22:00:00+00:00")
    assert daily_orders(scope(world, "2026-10-24", "2026-10-26")) == {
        "2026-10-24": 1,
        "2026-10-25": 2,
        "2026-10-26": 1,
    }


def test_it_buckets_across_new_year_by_day_week_and_month(world: factories.World) -> None:
    sale(world, "2026-12-31T21:59:59+00:00")  # 23:59:59 on 31 December in Helsinki
    sale(world, "2026-12-31T22:00:00+00:00")  # midnight, 1 January 2027 in Helsinki
    s = scope(world, "2026-12-01", "2027-01-31")
    assert daily_orders(s) == {"2026-12-31": 1, "2027-01-01": 1}
    # Monday 28 December 2026 starts the ISO week holding New Year.
    assert daily_orders(s, Granularity.WEEK) == {"2026-12-28": 2}
    assert daily_orders(s, Granularity.MONTH) == {"2026-12-01": 1, "2027-01-01": 1}


def test_it_moves_an_order_to_another_day_in_another_time_zone(world: factories.World) -> None:
    sale(world, "2026-05-10T22:30:00+00:00")
    assert daily_orders(scope(world, "2026-05-10", "2026-05-11", UTC)) == {"2026-05-10": 1}
    assert daily_orders(scope(world, "2026-05-10", "2026-05-11", HELSINKI)) == {"2026-05-11": 1}
    assert headline_figures(scope(world, "2026-05-10", "2026-05-10", UTC), Valuation()).orders == 1
    assert (
        headline_figures(scope(world, "2026-05-10", "2026-05-10", HELSINKI), Valuation()).orders
        == 0
    )


def test_it_never_adds_up_different_currencies(world: factories.World) -> None:
    sale(world, "2026-03-13T10:00:00+00:00", currency="EUR")  # 79.00
    sale(world, "2026-03-13T11:00:00+00:00", currency="EUR")
    sale(world, "2026-03-13T12:00:00+00:00", currency="SEK")  # 1099.00
    current = headline_figures(scope(world, "2026-03-13", "2026-03-13"), Valuation())
    assert current.revenue == {"EUR": Decimal("158.00"), "SEK": Decimal("1099.00")}
    assert current.aov == {"EUR": Decimal("79.00"), "SEK": Decimal("1099.00")}
    assert current.orders == 3


def test_it_converts_with_the_rate_of_each_payment_day(world: factories.World) -> None:
    # ECB: USD 1.1476 per EUR on Friday 13 March 2026, 1.1478 on Monday 16 March;
    # nothing on the weekend, so Saturday's payment uses Friday's rate.
    sale(world, "2026-03-13T10:00:00+00:00", currency="USD")  # 109.00
    sale(world, "2026-03-14T10:00:00+00:00", currency="USD")
    sale(world, "2026-03-16T10:00:00+00:00", currency="USD")
    sale(world, "2026-03-16T10:00:00+00:00", currency="EUR")  # 79.00
    converter = Converter("EUR")
    current = headline_figures(scope(world, "2026-03-13", "2026-03-16"), Valuation(converter))
    expected = (
        Decimal("109.00") / Decimal("1.1476") * 2
        + Decimal("109.00") / Decimal("1.1478")
        + Decimal("79.00")
    )
    assert current.revenue == {"EUR": expected}
    assert converter.round(current.revenue["EUR"]) == 36393  # 94.98 + 94.98 + 94.96 + 79.00
    saturday = converter.used[("USD", dt.date(2026, 3, 14))]
    assert (saturday.rate_day, saturday.per_euro, saturday.is_fallback) == (
        dt.date(2026, 3, 13),
        Decimal("1.1476"),
        True,
    )


def test_it_charts_converted_sales_per_bucket_with_each_days_rate(world: factories.World) -> None:
    # Amounts already in the display currency are not split by day (they need no rate); the
    # others are, and each bucket of the chart adds up its own days.
    sale(world, "2026-03-13T10:00:00+00:00", currency="USD")  # Friday: 1.1476
    sale(world, "2026-03-16T10:00:00+00:00", currency="USD")  # Monday, next week: 1.1478
    sale(world, "2026-03-13T11:00:00+00:00")  # 79.00 EUR
    sale(world, "2026-03-17T11:00:00+00:00")
    sale(world, "2026-03-18T11:00:00+00:00")
    valuation = Valuation(Converter("EUR"))
    tracking = sales_tracking(scope(world, "2026-03-13", "2026-03-18"), valuation, "week")
    (row,) = tracking.sources.rows
    expected = {
        dt.date(2026, 3, 9): Decimal("109.00") / Decimal("1.1476") + Decimal("79.00"),
        dt.date(2026, 3, 16): Decimal("109.00") / Decimal("1.1478") + Decimal("158.00"),
    }
    weeks = {day: valuation.total(sales) for day, sales in row.series.items()}
    assert weeks == {day: {"EUR": amount} for day, amount in expected.items()}
    assert row.figures.revenue == {"EUR": sum(expected.values())}
    # What a chart plots: the same sum, without a dict.
    points = {day: valuation.in_display_currency(sales) for day, sales in row.series.items()}
    assert points == expected


def test_it_converts_between_two_non_euro_currencies_through_the_euro(
    world: factories.World,
) -> None:
    sale(world, "2026-03-13T10:00:00+00:00", currency="SEK")  # 1099.00
    current = headline_figures(
        scope(world, "2026-03-13", "2026-03-13"), Valuation(Converter("USD"))
    )
    assert current.revenue == {"USD": Decimal("1099.00") / Decimal("10.7545") * Decimal("1.1476")}


def test_it_counts_refunds_in_the_period_they_succeeded(world: factories.World) -> None:
    order = sale(world, "2026-01-20T10:00:00+00:00")  # 79.00
    refund(order, 2000, "2026-02-03T10:00:00+00:00")
    refund(order, 500, "2026-02-04T10:00:00+00:00", status=RefundStatus.RECORDED)
    refund(order, 700, "2026-02-05T10:00:00+00:00", status=RefundStatus.REVERSED)
    refund(order, 900, "2026-02-05T10:00:00+00:00", status=RefundStatus.FAILED)
    january = headline_figures(scope(world, "2026-01-01", "2026-01-31"), Valuation())
    february = headline_figures(scope(world, "2026-02-01", "2026-02-28"), Valuation())
    assert (january.revenue, january.refunds, january.net_revenue) == (
        {"EUR": Decimal("79.00")},
        {},
        {"EUR": Decimal("79.00")},
    )
    assert (february.revenue, february.refunds, february.net_revenue) == (
        {},
        {"EUR": Decimal("25.00")},
        {"EUR": Decimal("-25.00")},
    )


def test_it_computes_conversion_rate_and_aov_of_a_known_set(world: factories.World) -> None:
    # Five checkouts opened on 2 March: two paid (79.00 and 79.00 + 9.00 bump), one
    # refunded later (still a sale), two never paid. Conversion 3/5, AOV 246.00 / 3 = 82.00.
    sale(world, "2026-03-02T08:00:00+00:00")
    sale(world, "2026-03-02T09:00:00+00:00", add_ons=(world.bump,))
    sale(world, "2026-03-02T10:00:00+00:00", status=OrderStatus.REFUNDED)
    sale(world, "2026-03-02T11:00:00+00:00", status=OrderStatus.STARTED)
    sale(world, "2026-03-02T12:00:00+00:00", status=OrderStatus.IN_PROGRESS)
    sale(world, "2026-03-01T12:00:00+00:00", status=OrderStatus.STARTED)  # the day before
    current = headline_figures(scope(world, "2026-03-02", "2026-03-02"), Valuation())
    assert (current.orders, current.opened) == (3, 5)
    assert current.revenue == {"EUR": Decimal("246.00")}
    assert current.aov == {"EUR": Decimal("82.00")}
    assert current.conversion_rate == Decimal("0.6000")
    assert current.impression_value == {"EUR": Decimal("49.20")}  # 0.6 × 82.00


def test_it_compares_with_the_previous_period(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00")
    sale(world, "2026-03-01T08:00:00+00:00")
    sale(world, "2026-03-01T09:00:00+00:00")
    day = scope(world, "2026-03-02", "2026-03-02")
    result = headline(day, Valuation(), previous=day.period.previous())
    assert result.previous is not None
    assert (result.current.orders, result.previous.orders) == (1, 2)


def test_it_reads_only_the_checkouts_in_scope(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00")
    Order.objects.update(checkout=world.other_checkout)
    assert headline_figures(scope(world, "2026-03-02", "2026-03-02"), Valuation()).orders == 0


def test_it_breaks_sales_down_by_source_link_and_offer(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00")
    sale(world, "2026-03-02T09:00:00+00:00", status=OrderStatus.STARTED)
    result = sales_tracking(scope(world, "2026-03-02", "2026-03-02"), Valuation(), Granularity.DAY)
    (source,) = result.sources.rows
    (link,) = result.links.rows
    (offer,) = result.offers.rows
    assert (source.label, link.label, offer.label) == (
        "Meta",
        "Black Friday Meta",
        "Masterclass launch",
    )
    assert (source.figures.orders, source.figures.opened) == (1, 2)
    assert source.figures.conversion_rate == Decimal("0.5000")
    assert source.figures.impression_value == {"EUR": Decimal("39.50")}


def test_it_reports_products_and_add_on_attachment(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00", add_ons=(world.bump,))
    sale(world, "2026-03-02T09:00:00+00:00")
    sale(world, "2026-03-02T10:00:00+00:00", add_ons=(world.bump, world.upsell))
    result = product_sales(scope(world, "2026-03-02", "2026-03-02"), Valuation())
    by_name = {p.name: p for p in result.products}
    assert by_name["Photography Masterclass"].figures.orders == 3
    assert by_name["Photography Masterclass"].figures.revenue == {"EUR": Decimal("237.00")}
    assert by_name["Workbook PDF"].figures.revenue == {"EUR": Decimal("18.00")}
    assert by_name["Workbook PDF"].add_on_share == {"EUR": Decimal("1.0000")}
    assert by_name["Workbook PDF"].top_offer == "Masterclass launch"
    assert by_name["Workbook PDF"].top_source == "Meta"
    rates = {a.name: a.attachment_rate for a in result.add_ons}
    assert rates["Workbook PDF"] == Decimal("0.6667")
    assert rates["1:1 Coaching Call"] == Decimal("0.3333")
    assert rates["Masterclass VIP"] == Decimal("0.0000")


def test_it_groups_countries_with_their_regions(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00", country="FI", region="Uusimaa")
    sale(world, "2026-03-02T09:00:00+00:00", country="FI", region="Pirkanmaa")
    sale(world, "2026-03-02T10:00:00+00:00", country="FI", region="Uusimaa")
    sale(world, "2026-03-02T11:00:00+00:00", country="SE", currency="SEK")
    fi, se = international(scope(world, "2026-03-02", "2026-03-02"), Valuation())
    assert (fi.country, fi.figures.orders, se.country, se.figures.orders) == ("FI", 3, "SE", 1)
    assert [(name, f.orders) for name, f in fi.regions] == [("Uusimaa", 2), ("Pirkanmaa", 1)]


def test_it_reports_consent_devices_and_payment_methods(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00", analytics_consent=True, device_type=DeviceType.MOBILE)
    sale(world, "2026-03-02T09:00:00+00:00", analytics_consent=False, device_type=DeviceType.MOBILE)
    sale(
        world,
        "2026-03-02T10:00:00+00:00",
        analytics_consent=True,
        provider="paytrail",
        method="mobilepay",
    )
    sale(
        world,
        "2026-03-02T11:00:00+00:00",
        status=OrderStatus.STARTED,
        device_type=DeviceType.DESKTOP,
    )
    result = analytics(scope(world, "2026-03-02", "2026-03-02"), Valuation(), Granularity.DAY)
    assert result.consent.total("Accepted") == 2
    assert result.consent.total("Rejected") == 1
    assert result.consent.total("Not answered") == 1
    assert result.consent_rate == Decimal("0.6667")
    devices = {d.device: (d.opened, d.orders) for d in result.device_rows}
    assert devices == {"Mobile": (2, 2), "Desktop": (1, 0), "Other": (1, 1)}
    methods = {(m.provider, m.method): m.figures.orders for m in result.methods}
    assert methods == {("stripe", "card"): 2, ("paytrail", "mobilepay"): 1}


@pytest.mark.parametrize("currency", ["EUR", "USD"])
def test_it_values_an_empty_period_without_errors(world: factories.World, currency: str) -> None:
    current = headline_figures(
        scope(world, "2026-03-02", "2026-03-02"), Valuation(Converter(currency))
    )
    assert (current.orders, current.revenue, current.conversion_rate) == (0, {}, None)


def test_it_gives_the_same_headline_from_the_sales_breakdown(world: factories.World) -> None:
    sale(world, "2026-03-02T08:00:00+00:00", add_ons=(world.bump,))
    sale(world, "2026-03-02T09:00:00+00:00", currency="SEK")
    sale(world, "2026-03-02T10:00:00+00:00", status=OrderStatus.STARTED)
    s = scope(world, "2026-03-02", "2026-03-02")
    totals = sales_tracking(s, Valuation(), Granularity.DAY).totals
    assert headline_figures(s, Valuation(), totals) == headline_figures(s, Valuation())


def test_a_products_add_on_share_lists_currencies_as_amounts_are_shown() -> None:
    """In the order of the currency codes, whatever order the rows came in from the database
    (the rollup's and the hours' rows come in different orders)."""
    revenue = {"USD": Decimal("10"), "EUR": Decimal("40"), "SEK": Decimal("200")}
    row = ProductRow(
        product_id=1,
        name="Workbook PDF",
        figures=Figures(revenue, 3, Counter(), 0, Counter()),
        add_on_revenue={"SEK": Decimal("50"), "EUR": Decimal("10")},
        top_offer="",
        top_source="",
    )

    assert list(row.add_on_share.items()) == [
        ("EUR", Decimal("0.2500")),
        ("SEK", Decimal("0.2500")),
        ("USD", Decimal("0.0000")),
    ]


def test_a_converted_analytics_tab_counts_opened_checkouts_of_every_currency(
    world: factories.World,
) -> None:
    # Converted, the charts' opened checkouts are read without their currency: each bucket
    # still counts every currency's, and the headline has them all in the display currency.
    sale(world, "2026-03-13T08:00:00+00:00", analytics_consent=True, device_type=DeviceType.MOBILE)
    sale(
        world,
        "2026-03-13T09:00:00+00:00",
        currency="USD",
        analytics_consent=True,
        device_type=DeviceType.MOBILE,
    )
    sale(
        world,
        "2026-03-16T09:00:00+00:00",
        currency="SEK",
        status=OrderStatus.STARTED,
        analytics_consent=False,
        device_type=DeviceType.DESKTOP,
    )
    s = scope(world, "2026-03-13", "2026-03-16")
    converted = Valuation(Converter("EUR"))
    result = analytics(s, converted, Granularity.DAY)
    friday, monday = dt.date(2026, 3, 13), dt.date(2026, 3, 16)
    assert result.consent.counts == {(friday, "Accepted"): 2, (monday, "Rejected"): 1}
    assert result.devices.counts == {(friday, "Mobile"): 2, (monday, "Desktop"): 1}
    assert result.consent.counts == analytics(s, Valuation(), Granularity.DAY).consent.counts
    current = headline_figures(s, converted, result.totals)
    assert (current.opened, current.opened_by_currency) == (3, Counter({"EUR": 3}))
    assert current == headline_figures(s, converted)
    # Read from any source, one row per device and day, not one per currency too.
    rows = s.facts.opened("device_type", per="day", by_currency=False)
    assert sorted((r["device_type"], r["day"], r["cur"], r["n"]) for r in rows) == [
        (DeviceType.DESKTOP, monday, None, 1),
        (DeviceType.MOBILE, friday, None, 2),
    ]
