"""The hourly rollup: reports in a time zone other than the organization's read whole UTC
hours from `SalesHour` and the rest live, with the same figures as the live tables.

Orders sit just before and after the report zone's midnights, in zones whose midnight is not
on the hour (Asia/Kolkata +5:30, Asia/Kathmandu +5:45, Pacific/Chatham +12:45/+13:45) and
around DST changes (America/New_York on 1 November, Australia/Lord_Howe's half-hour change on
4 October, Chatham's on 27 September). test_queries.py also runs every report test on it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.reports import rollups
from orderdesk.reports.facts import (
    Facts,
    HourFacts,
    LiveFacts,
    Per,
    RolledDays,
    RolledHours,
    Split,
    _hour_currencies,
    facts_for,
)
from orderdesk.reports.models import PART_MINUTES, Grain, RollupState, SalesHour, SalesHourPart
from orderdesk.reports.params import time_zones
from orderdesk.reports.periods import Period, midnight
from orderdesk.testing import factories

# Sunday 8 November 2026, noon UTC; the organization is in Helsinki.
NOW = dt.datetime(2026, 11, 8, 12, 0, tzinfo=dt.UTC)
FIRST, LAST = dt.date(2026, 9, 20), dt.date(2026, 11, 5)
ZONES = (
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "UTC",
)
PERS: tuple[Per, ...] = (
    "day",
    "week",
    "month",
    None,
    Split("day", "EUR", "month"),
    Split("day", "EUR", None),
)


@pytest.fixture(autouse=True)
def no_zone_days(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the hourly rollup itself: a report here does not ask for its
    zone's days, which the next rollup would build and read instead (test_zone_days.py)."""
    monkeypatch.setattr("orderdesk.reports.facts.ask_for_zone", lambda *args: None)


def _orders_around_midnights(world: factories.World, tz: ZoneInfo) -> None:
    offsets = (-50, -20, -1, 0, 10, 40, 700)  # minutes from local midnight
    day = FIRST - dt.timedelta(days=1)
    n = 0
    while day <= LAST + dt.timedelta(days=1):
        for minutes in offsets:
            n += 1
            moment = midnight(day, tz) + dt.timedelta(minutes=minutes)
            paid = n % 5 != 0
            order = factories.order(
                world,
                created_at=moment - dt.timedelta(minutes=n % 3 * 20),
                status=OrderStatus.PAID if paid else OrderStatus.STARTED,
                currency=("EUR", "SEK", "USD")[n % 3],
                add_ons=(world.bump,) if n % 2 else (),
            )
            if paid:
                Order.objects.filter(pk=order.pk).update(paid_at=moment)
            if paid and n % 7 == 0:
                Refund.objects.create(
                    order=order,
                    status=RefundStatus.SUCCEEDED,
                    amount_minor=order.total_minor // 2,
                    currency=order.currency,
                    idempotency_key=uuid.uuid4().hex,
                    settled_at=moment + dt.timedelta(minutes=15),
                )
        day += dt.timedelta(days=1)


def _summed(rows: list[Any]) -> Counter[tuple[Any, ...]]:
    """Rows of one call added up per key: parts may give several rows of the same key."""
    total: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        key = tuple(sorted((k, v) for k, v in row.items() if k not in ("n", "amount", "vat")))
        for measure in ("n", "amount", "vat"):
            if measure in row:
                total[(*key, measure)] += row[measure] or 0
    return +total


def _every_figure(facts: Facts | LiveFacts, per: Per) -> dict[str, Counter[tuple[Any, ...]]]:
    figures = {
        "sales": _summed(facts.sales("source", "link_id", "offer_id", per=per)),
        "sales by place": _summed(facts.sales("country", "region", per=per)),
        "opened": _summed(facts.opened("device_type", "analytics_consent", per=per)),
        "lines": _summed(
            facts.lines("product_id", "kind", "add_on_id", "offer_id", "source", per=per)
        ),
        "payments": _summed(facts.payments(per=per)),
        "refunds": _summed(facts.refunds(per=per)),
        "vat": _summed(facts.vat(per=per)),
        "refund vat": _summed(facts.refund_vat(per=per)),
    }
    if not isinstance(per, Split):
        # A split by currency splits each currency's rows: only a plain split drops it.
        figures["opened, any currency"] = _summed(
            facts.opened("device_type", "analytics_consent", per=per, by_currency=False)
        )
    return figures


@pytest.mark.parametrize("zone", ZONES)
def test_hourly_figures_equal_live_figures_across_zone_edges(
    world: factories.World, zone: str
) -> None:
    tz = ZoneInfo(zone)
    _orders_around_midnights(world, tz)
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(FIRST, LAST, tz)
    ids = frozenset({world.checkout.pk})

    facts = facts_for(ids, period)

    assert [type(p) for p in facts.parts] == [HourFacts]
    live = LiveFacts(ids, period.start, period.end, tz)
    for per in PERS:
        assert _every_figure(facts, per) == _every_figure(live, per), per
    assert _every_figure(live, "day")["sales"], "the period has sales"


def test_opened_checkouts_split_by_currency_are_not_read_without_it(
    world: factories.World,
) -> None:
    tz = ZoneInfo("Asia/Kolkata")
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(FIRST, LAST, tz)
    ids = frozenset({world.checkout.pk})
    split = Split("day", "EUR", "month")
    for facts in (facts_for(ids, period), LiveFacts(ids, period.start, period.end, tz)):
        with pytest.raises(ValueError, match="split by currency"):
            facts.opened("device_type", per=split, by_currency=False)


@pytest.mark.parametrize(("zone", "minutes"), [("Asia/Kolkata", 30), ("Asia/Kathmandu", 15)])
def test_a_day_cut_at_half_or_quarter_past_reads_no_orders(
    world: factories.World, zone: str, minutes: int
) -> None:
    tz = ZoneInfo(zone)
    _orders_around_midnights(world, tz)
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 3), tz)
    ids = frozenset({world.checkout.pk})
    facts = facts_for(ids, period)
    hourly = facts.parts[0]
    assert isinstance(hourly, HourFacts)

    rolled, live = hourly.parts("day")

    # Midnight in Kolkata is 18:30 UTC, in Kathmandu 18:15: the hour 18:00-19:00 UTC belongs
    # to two days, split by its first half or quarter hour from SalesHourPart.
    assert isinstance(rolled, RolledHours)
    assert isinstance(live, LiveFacts)
    cut = tuple((dt.datetime(2026, 10, d, 18, tzinfo=dt.UTC), minutes) for d in (1, 2))
    assert rolled.parts == cut
    assert rolled.skip == frozenset()
    first = period.start + dt.timedelta(minutes=60 - minutes)  # 19:00 UTC on 30 September
    last = period.end - dt.timedelta(minutes=minutes)
    assert rolled.ranges == ((first, last),)
    # Only the period's own first and last part hour are read live.
    assert live.slices == ((period.start, first), (last, period.end))
    whole = LiveFacts(ids, period.start, period.end, tz)
    for per in PERS:
        assert _every_figure(facts, per) == _every_figure(whole, per), per
    by_day = _every_figure(whole, "day")["sales"]
    days = {value for key in by_day for name, value in key[:-1] if name == "day"}
    assert days == {dt.date(2026, 10, d) for d in (1, 2, 3)}


def test_hours_cut_by_a_midnight_are_read_live_until_their_parts_are_built(
    world: factories.World,
) -> None:
    rollups.roll_up(world.checkout, now=NOW)
    RollupState.objects.update(parts_until=None)  # as after migration 0005
    SalesHourPart.objects.all().delete()
    kathmandu = ZoneInfo("Asia/Kathmandu")
    period = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 3), kathmandu)
    facts = facts_for(frozenset({world.checkout.pk}), period)
    hourly = facts.parts[0]
    assert isinstance(hourly, HourFacts)

    rolled, live = hourly.parts("day")

    assert isinstance(rolled, RolledHours)
    assert isinstance(live, LiveFacts)
    cut = {dt.datetime(2026, 10, d, 18, tzinfo=dt.UTC) for d in (1, 2)}
    assert rolled.skip == cut
    assert rolled.parts == ()
    first = period.start + dt.timedelta(minutes=45)  # 19:00 UTC on 30 September
    last = period.end - dt.timedelta(minutes=15)
    assert rolled.ranges == ((first, last),)
    assert live.slices == (
        (period.start, first),
        *((hour, hour + dt.timedelta(hours=1)) for hour in sorted(cut)),
        (last, period.end),
    )
    # A table needs no buckets: only the period's two edges are read live, and the
    # organization's days inside the period (Helsinki, midnight at 21:00 UTC) from SalesDay.
    days, rolled, live = hourly.parts(None)
    assert isinstance(days, RolledDays)
    assert days.runs == ((dt.date(2026, 10, 1), dt.date(2026, 10, 3), None),)
    assert isinstance(rolled, RolledHours)
    assert rolled.skip == frozenset()
    assert rolled.ranges == (
        (first, dt.datetime(2026, 9, 30, 21, tzinfo=dt.UTC)),
        (dt.datetime(2026, 10, 2, 21, tzinfo=dt.UTC), last),
    )
    assert isinstance(live, LiveFacts)
    assert live.slices == ((period.start, first), (last, period.end))

    # The next run of the rollup builds the parts, and the cut hours stop being read live.
    rollups.roll_up(world.checkout, now=NOW)
    state = RollupState.objects.get(checkout=world.checkout)
    assert state.parts_until == state.hours_until
    rolled, live = facts_for(frozenset({world.checkout.pk}), period).parts[0].parts("day")  # type: ignore[union-attr]
    assert isinstance(rolled, RolledHours)
    assert rolled.skip == frozenset()
    assert [hour for hour, _ in rolled.parts] == sorted(cut)


def test_every_zones_midnight_falls_on_the_hour_or_on_a_stored_part() -> None:
    minutes = set()
    for zone in time_zones():
        tz = ZoneInfo(zone)
        day = dt.date(2024, 1, 1)
        while day < dt.date(2029, 1, 1):
            minutes.add(midnight(day, tz).minute)
            day += dt.timedelta(days=7)
    assert minutes == {0, *PART_MINUTES}


def test_the_hourly_rollup_follows_the_daily_one(world: factories.World) -> None:
    factories.order(world, created_at=dt.datetime(2026, 11, 1, 7, 10, tzinfo=dt.UTC))
    factories.order(world, created_at=dt.datetime(2026, 11, 6, 21, 59, tzinfo=dt.UTC))

    rollups.roll_up(world.checkout, now=NOW)

    state = RollupState.objects.get(checkout=world.checkout)
    # Settled: the days before 7 November in Helsinki, i.e. until 22:00 UTC on the 6th.
    assert state.complete_until == dt.date(2026, 11, 7)
    assert state.hours_until == dt.datetime(2026, 11, 6, 22, tzinfo=dt.UTC)
    assert state.parts_until == state.hours_until
    assert sorted(set(SalesHour.objects.values_list("hour", flat=True))) == [
        dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 6, 21, tzinfo=dt.UTC),
    ]
    # Opened at 07:10 and at 21:59: in the first half hour of 07:00 UTC only.
    assert sorted(set(SalesHourPart.objects.values_list("hour", "minutes"))) == [
        (dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC), 15),
        (dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC), 30),
    ]
    assert rollups.roll_up(world.checkout, now=NOW) == 0
    assert SalesHour.objects.count() == SalesHour.objects.values("hour", "grain").count()

    # The organization moving to another zone rebuilds the days, not the UTC hours.
    world.org.time_zone = "America/New_York"
    world.org.save()
    hours = set(SalesHour.objects.values_list("pk", flat=True))
    rollups.roll_up(world.checkout, now=NOW)
    assert set(SalesHour.objects.values_list("pk", flat=True)) == hours

    parts = set(SalesHourPart.objects.values_list("pk", flat=True))
    rollups.rebuild(world.checkout, now=NOW)
    assert set(SalesHour.objects.values_list("pk", flat=True)).isdisjoint(hours)
    assert SalesHour.objects.count() == len(hours)
    assert set(SalesHourPart.objects.values_list("pk", flat=True)).isdisjoint(parts)
    assert SalesHourPart.objects.count() == len(parts)


def test_a_report_reads_live_until_the_hours_are_built(world: factories.World) -> None:
    order = factories.order(world, created_at=dt.datetime(2026, 11, 1, 7, 10, tzinfo=dt.UTC))
    rollups.roll_up(world.checkout, now=NOW)
    RollupState.objects.update(hours_until=None)  # as after migration 0004
    SalesHour.objects.all().delete()
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 1), ZoneInfo("Asia/Kolkata"))
    facts = facts_for(frozenset({world.checkout.pk}), period)
    assert [type(p) for p in facts.parts] == [LiveFacts]
    assert facts.sales(per=None)[0]["amount"] == order.total_minor


def refunded_order(world: factories.World, settled_at: dt.datetime) -> tuple[Order, Refund]:
    """An order of 2 November refunded in full, the refund booked at `settled_at`."""
    order = factories.order(
        world,
        created_at=dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC),
        status=OrderStatus.REFUNDED,
    )
    refund = Refund.objects.create(
        order=order,
        status=RefundStatus.SUCCEEDED,
        amount_minor=order.total_minor,
        currency=order.currency,
        idempotency_key=uuid.uuid4().hex,
        settled_at=settled_at,
    )
    return order, refund


def test_a_refund_reversed_later_refreshes_its_hour(world: factories.World) -> None:
    order, refund = refunded_order(world, dt.datetime(2026, 11, 3, 8, 20, tzinfo=dt.UTC))
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(dt.date(2026, 11, 3), dt.date(2026, 11, 3), ZoneInfo("Asia/Kathmandu"))
    ids = frozenset({world.checkout.pk})
    assert facts_for(ids, period).refunds(per=None)[0]["amount"] == order.total_minor

    # Booked at 08:20 UTC: inside the first half hour of 08:00, not its first quarter.
    booked = SalesHourPart.objects.filter(
        grain="refund", hour=dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC)
    )
    assert list(booked.values_list("minutes", "orders")) == [(30, 1)]
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.REVERSED, rollup_stale=True)
    assert rollups.refresh_stale_refunds() == 1

    assert facts_for(ids, period).refunds(per=None) == []
    assert not booked.exists()


def test_a_converted_read_asks_for_the_other_currencies_by_name(world: factories.World) -> None:
    """Converting reads every currency but the display currency by day: by name, each a range
    of the (checkout, grain, currency, hour) index, not every row with the display currency's
    thrown away, and with the same figures as live."""
    kolkata = ZoneInfo("Asia/Kolkata")
    _orders_around_midnights(world, kolkata)
    rollups.roll_up(world.checkout, now=NOW)
    ids = frozenset({world.checkout.pk})
    period = Period(FIRST, LAST, kolkata)
    split = Split("day", "SEK", "month")

    with CaptureQueriesContext(connection) as queries:
        rows = facts_for(ids, period).sales("source", "link_id", "offer_id", per=split)

    assert _hour_currencies(ids, Grain.CHANNEL) == ["EUR", "SEK", "USD"]
    reads = [q["sql"] for q in queries.captured_queries if "reports_saleshour" in q["sql"]]
    others = [sql for sql in reads if re.search(r"\"currency\" IN \('EUR', 'USD'\)", sql)]
    assert others, reads
    assert not [sql for sql in reads if re.search(r"NOT \(\"\w+\".\"currency\" =", sql)], reads
    live = LiveFacts(ids, period.start, period.end, kolkata)
    assert _summed(rows) == _summed(live.sales("source", "link_id", "offer_id", per=split))
