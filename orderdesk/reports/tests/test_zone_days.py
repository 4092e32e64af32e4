"""Days in the zones members report in (`ZoneDay`): built by the rollup from the hourly
rollup, read by a report in that zone like the organization's own days, with the same
figures as the live tables; asked for by a report in a zone no member has, and forgotten
when no report asks for it any more."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.reports import facts, rollups
from orderdesk.reports.facts import (
    ASKED_ZONES,
    ZONE_KEPT,
    HourFacts,
    LiveFacts,
    RolledFacts,
    facts_for,
)
from orderdesk.reports.models import ZoneDay, ZoneRollup
from orderdesk.reports.periods import Period
from orderdesk.reports.tests.test_hourly_rollup import (
    FIRST,
    LAST,
    NOW,
    PERS,
    _every_figure,
    _orders_around_midnights,
    refunded_order,
)
from orderdesk.testing import factories

ZONES = ("America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe")


def _member_in(world: factories.World, zone: str) -> None:
    world.bob.time_zone = zone
    world.bob.save(update_fields=["time_zone"])


@pytest.mark.parametrize("zone", ZONES)
def test_a_members_zone_reads_its_own_days_with_the_live_figures(
    world: factories.World, zone: str
) -> None:
    tz = ZoneInfo(zone)
    _member_in(world, zone)
    _orders_around_midnights(world, tz)

    rollups.roll_up(world.checkout, now=NOW)

    rolled = ZoneRollup.objects.get(checkout=world.checkout, time_zone=zone)
    # The hours reach 21:00 UTC on 6 November (Helsinki's settled days); the zone's days
    # before the one that instant falls in are built.
    assert (
        rolled.complete_until == dt.datetime(2026, 11, 6, 22, tzinfo=dt.UTC).astimezone(tz).date()
    )
    assert ZoneDay.objects.filter(time_zone=zone).exists()
    period = Period(FIRST, LAST, tz)
    ids = frozenset({world.checkout.pk})
    found = facts_for(ids, period)
    assert [type(p) for p in found.parts] == [RolledFacts]
    live = LiveFacts(ids, period.start, period.end, tz)
    for per in PERS:
        assert _every_figure(found, per) == _every_figure(live, per), per
    assert _every_figure(live, "day")["sales"], "the period has sales"

    # Past the zone's rolled days, the rest is read as any zone reads it.
    later = Period(FIRST, dt.date(2026, 11, 8), tz)
    found = facts_for(ids, later)
    assert [type(p) for p in found.parts] == [RolledFacts, HourFacts]
    live = LiveFacts(ids, later.start, later.end, tz)
    for per in PERS:
        assert _every_figure(found, per) == _every_figure(live, per), per


def test_a_zone_no_member_has_is_asked_for_by_its_first_report(world: factories.World) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    _orders_around_midnights(world, kolkata)
    rollups.roll_up(world.checkout, now=NOW)
    assert not ZoneRollup.objects.exists()
    period = Period(FIRST, LAST, kolkata)
    ids = frozenset({world.checkout.pk})

    first = facts_for(ids, period)

    # Read from the hours this time; the next rollup builds the zone's days.
    assert [type(p) for p in first.parts] == [HourFacts]
    asked = ZoneRollup.objects.get(checkout=world.checkout)
    assert (asked.time_zone, asked.complete_until) == ("Asia/Kolkata", None)
    assert asked.asked_at is not None
    rollups.roll_up(world.checkout, now=NOW)
    second = facts_for(ids, period)
    assert [type(p) for p in second.parts] == [RolledFacts]
    for per in PERS:
        assert _every_figure(second, per) == _every_figure(first, per), per


def test_a_worker_builds_an_asked_zones_days_at_once(
    world: factories.World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    kolkata = ZoneInfo("Asia/Kolkata")
    _orders_around_midnights(world, kolkata)
    rollups.roll_up(world.checkout, now=NOW)
    ids = frozenset({world.checkout.pk})
    period = Period(FIRST, LAST, kolkata)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = facts_for(ids, period)
    assert [type(p) for p in first.parts] == [HourFacts]
    assert not ZoneDay.objects.exists(), "nothing is built inside the report's request"
    for callback in callbacks:
        callback()

    assert ZoneRollup.objects.get().complete_until is not None
    second = facts_for(ids, period)
    assert [type(p) for p in second.parts] == [RolledFacts]
    for per in PERS:
        assert _every_figure(second, per) == _every_figure(first, per), per
    # Asked again, the zone enqueues nothing more.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        facts_for(ids, period)
    assert callbacks == []


def test_a_report_writes_nothing_while_its_zone_was_asked_for_lately(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(FIRST, LAST, ZoneInfo("Asia/Kathmandu"))
    ids = frozenset({world.checkout.pk})
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    facts_for(ids, period)
    monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(hours=20))
    with CaptureQueriesContext(connection) as queries:
        facts_for(ids, period)
    assert not [q for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert ZoneRollup.objects.get().asked_at == NOW
    # A day later it is asked again, so the zone stays kept while reports read it.
    monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(days=2))
    facts_for(ids, period)
    assert ZoneRollup.objects.get().asked_at == NOW + dt.timedelta(days=2)


def test_a_zone_nobody_asks_for_is_forgotten_and_a_members_is_kept(
    world: factories.World,
) -> None:
    factories.order(world, created_at=dt.datetime(2026, 10, 1, 7, 10, tzinfo=dt.UTC))
    _member_in(world, "America/New_York")
    ZoneRollup.objects.create(checkout=world.checkout, time_zone="Asia/Kolkata", asked_at=NOW)
    rollups.roll_up(world.checkout, now=NOW)
    assert set(ZoneDay.objects.values_list("time_zone", flat=True)) == {
        "America/New_York",
        "Asia/Kolkata",
    }

    rollups.roll_up(world.checkout, now=NOW + ZONE_KEPT + dt.timedelta(minutes=1))

    assert list(ZoneRollup.objects.values_list("time_zone", flat=True)) == ["America/New_York"]
    assert set(ZoneDay.objects.values_list("time_zone", flat=True)) == {"America/New_York"}
    # The member moves back to the organization's zone: theirs is dropped at the next run.
    _member_in(world, "")
    rollups.roll_up(world.checkout, now=NOW + ZONE_KEPT)
    assert not ZoneRollup.objects.exists()
    assert not ZoneDay.objects.exists()


def test_a_checkout_keeps_only_so_many_asked_zones(world: factories.World) -> None:
    rollups.roll_up(world.checkout, now=NOW)
    ids = frozenset({world.checkout.pk})
    zones = [f"Etc/GMT+{n}" for n in range(1, ASKED_ZONES + 3)]
    for zone in zones:
        found = facts_for(ids, Period(FIRST, LAST, ZoneInfo(zone)))
        assert [type(p) for p in found.parts] == [HourFacts]
    assert sorted(ZoneRollup.objects.values_list("time_zone", flat=True)) == sorted(
        zones[:ASKED_ZONES]
    )


def test_a_refund_reversed_later_rebuilds_the_zones_day(world: factories.World) -> None:
    _member_in(world, "Asia/Kathmandu")
    # Booked on 4 November at 00:05 in Kathmandu.
    order, refund = refunded_order(world, dt.datetime(2026, 11, 3, 18, 20, tzinfo=dt.UTC))
    rollups.roll_up(world.checkout, now=NOW)
    kathmandu = ZoneInfo("Asia/Kathmandu")
    period = Period(dt.date(2026, 11, 4), dt.date(2026, 11, 4), kathmandu)
    ids = frozenset({world.checkout.pk})
    found = facts_for(ids, period)
    assert [type(p) for p in found.parts] == [RolledFacts]
    assert found.refunds(per="day") == [
        {"cur": order.currency, "day": dt.date(2026, 11, 4), "amount": order.total_minor, "n": 1}
    ]

    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.REVERSED, rollup_stale=True)
    assert rollups.refresh_stale_refunds() == 1

    assert facts_for(ids, period).refunds(per="day") == []
    assert not ZoneDay.objects.filter(grain="refund").exists()


def test_rebuilding_the_rollup_rebuilds_the_zones_days(world: factories.World) -> None:
    factories.order(world, created_at=dt.datetime(2026, 10, 1, 7, 10, tzinfo=dt.UTC))
    _member_in(world, "Australia/Lord_Howe")
    rollups.roll_up(world.checkout, now=NOW)
    days = set(ZoneDay.objects.values_list("pk", flat=True))
    assert days

    rollups.rebuild(world.checkout, now=NOW)

    rebuilt = set(ZoneDay.objects.values_list("pk", flat=True))
    assert len(rebuilt) == len(days)
    assert rebuilt.isdisjoint(days)


def test_zone_days_are_read_only_where_every_checkout_has_them(world: factories.World) -> None:
    _member_in(world, "Asia/Kolkata")
    rollups.roll_up(world.checkout, now=NOW)
    rollups.roll_up(world.other_checkout, now=NOW)
    both = frozenset({world.checkout.pk, world.other_checkout.pk})
    period = Period(FIRST, LAST, ZoneInfo("Asia/Kolkata"))

    # Bob is a member of the first checkout only: the second's days are not there yet.
    assert [type(p) for p in facts_for(both, period).parts] == [HourFacts]
    assert facts.facts_for(frozenset({world.checkout.pk}), period).parts[0].zone == (  # type: ignore[union-attr]
        "Asia/Kolkata"
    )
