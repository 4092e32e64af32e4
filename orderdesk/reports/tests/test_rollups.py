"""The daily rollup: which days it holds, how it stays current, and that reports use it.

That rolled-up figures equal live ones is shown for every report in test_queries.py, which
runs each of its tests on the live tables, a full rollup and a half rollup.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.reports import rollups
from orderdesk.reports.facts import HourFacts, LiveFacts, RolledFacts, RolledHours
from orderdesk.reports.models import Grain, RollupState, SalesDay, SalesHour
from orderdesk.reports.periods import Period
from orderdesk.reports.queries import Scope, Valuation, headline_figures
from orderdesk.testing import factories
from orderdesk.workflows.completion import restore_refunded_data

HELSINKI = ZoneInfo("Europe/Helsinki")
# Saturday 28 November 2026, early afternoon in Helsinki.
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC)


def scope(world: factories.World, first: str, last: str) -> Scope:
    period = Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last), HELSINKI)
    return Scope(frozenset({world.checkout.pk}), period)


def test_it_rolls_up_settled_days_only_and_only_once(world: factories.World) -> None:
    factories.order(world, created_at=at("2026-11-01T10:00:00+02:00"))
    factories.order(world, created_at=at("2026-11-26T23:30:00+02:00"))  # settled
    factories.order(world, created_at=at("2026-11-27T00:30:00+02:00"))  # yesterday: live

    assert rollups.roll_up(world.checkout, now=NOW) == 26  # 1 to 26 November
    state = RollupState.objects.get(checkout=world.checkout)
    assert (state.time_zone, state.complete_until) == ("Europe/Helsinki", dt.date(2026, 11, 27))
    assert sorted(
        SalesDay.objects.filter(grain=Grain.CHANNEL).values_list("day", "orders", "opened")
    ) == [(dt.date(2026, 11, 1), 1, 1), (dt.date(2026, 11, 26), 1, 1)]
    assert rollups.roll_up(world.checkout, now=NOW) == 0
    assert rollups.roll_up(world.checkout, now=NOW + dt.timedelta(days=1)) == 1


def test_a_report_reads_the_rollup_for_settled_days_and_live_tables_after(
    world: factories.World,
) -> None:
    factories.order(world, created_at=at("2026-11-20T10:00:00+02:00"))
    rollups.roll_up(world.checkout, now=NOW)
    # Written after the rollup: today's order counts at once.
    factories.order(world, created_at=at("2026-11-28T09:00:00+02:00"))
    s = scope(world, "2026-10-30", "2026-11-28")

    assert [type(p) for p in s.facts.parts] == [RolledFacts, LiveFacts]
    assert s.facts.parts[0] == RolledFacts(
        s.checkout_ids, dt.date(2026, 10, 30), dt.date(2026, 11, 27)
    )
    assert headline_figures(s, Valuation()).orders == 2


def test_a_fully_rolled_up_period_never_reads_the_orders(world: factories.World) -> None:
    for day in range(1, 20):
        factories.order(world, created_at=at(f"2026-11-{day:02d}T10:00:00+02:00"))
    rollups.roll_up(world.checkout, now=NOW)
    s = scope(world, "2026-11-01", "2026-11-20")

    with CaptureQueriesContext(connection) as queries:
        figures = headline_figures(s, Valuation())

    assert figures.orders == 19
    # Only the probe for refunds the provider reversed since (issue 12) touches refunds: an
    # EXISTS over a partial index that is empty while nothing waits.
    probes = [q["sql"] for q in queries.captured_queries if "rollup_stale" in q["sql"]]
    assert len(probes) == 1
    assert "orders_order" not in probes[0]
    tables = " ".join(q["sql"] for q in queries.captured_queries if q["sql"] not in probes)
    assert "reports_salesday" in tables
    assert "orders_order" not in tables
    assert "payments_refund" not in tables


def test_a_report_in_another_time_zone_reads_the_hourly_rollup(world: factories.World) -> None:
    # 23:30 in Helsinki on the 19th is 21:30 UTC: the same order, another day in UTC.
    factories.order(world, created_at=at("2026-11-19T23:30:00+02:00"))
    rollups.roll_up(world.checkout, now=NOW)
    period = Period(dt.date(2026, 11, 19), dt.date(2026, 11, 19), ZoneInfo("UTC"))
    s = Scope(frozenset({world.checkout.pk}), period)

    assert [type(p) for p in s.facts.parts] == [HourFacts]
    hourly = s.facts.parts[0]
    assert isinstance(hourly, HourFacts)
    rolled, live = hourly.parts("day")
    assert isinstance(rolled, RolledHours)
    assert isinstance(live, LiveFacts)
    assert live.slices == ()  # the UTC day is whole hours
    assert headline_figures(s, Valuation()).orders == 1


def test_it_rebuilds_when_the_organization_changes_its_time_zone(
    world: factories.World,
) -> None:
    factories.order(world, created_at=at("2026-11-19T23:30:00+02:00"))
    rollups.roll_up(world.checkout, now=NOW)
    organization = world.checkout.organization
    organization.time_zone = "UTC"
    organization.save()

    rollups.roll_up(world.checkout, now=NOW)

    state = RollupState.objects.get(checkout=world.checkout)
    assert state.time_zone == "UTC"
    assert list(SalesDay.objects.filter(grain=Grain.CHANNEL).values_list("day", flat=True)) == [
        dt.date(2026, 11, 19)
    ]
    assert SalesDay.objects.filter(grain=Grain.CHANNEL).get().orders == 1


def test_restoring_refunded_data_refreshes_the_rolled_up_days(world: factories.World) -> None:
    order = factories.order(
        world, created_at=at("2026-11-02T10:00:00+02:00"), status=OrderStatus.REFUNDED
    )
    Refund.objects.create(
        order=order,
        status=RefundStatus.SUCCEEDED,
        amount_minor=order.total_minor,
        currency=order.currency,
        idempotency_key=uuid.uuid4().hex,
        settled_at=at("2026-11-05T10:00:00+02:00"),
    )
    Order.objects.filter(pk=order.pk).update(refunded_minor=order.total_minor)
    rollups.roll_up(world.checkout, now=NOW)
    s = scope(world, "2026-11-01", "2026-11-20")
    assert headline_figures(s, Valuation()).refunds == {"EUR": Decimal(order.total_minor) / 100}

    restore_refunded_data(order, actor=Actor.system())

    assert headline_figures(scope(world, "2026-11-01", "2026-11-20"), Valuation()).refunds == {}


def test_a_checkout_without_orders_has_an_empty_rollup(world: factories.World) -> None:
    assert rollups.roll_up(world.checkout, now=NOW) == 0
    assert RollupState.objects.get(checkout=world.checkout).complete_until == dt.date(2026, 11, 27)
    assert not SalesDay.objects.exists()


@pytest.mark.time_machine(NOW, tick=False)  # the command rolls up until today
def test_the_command_rolls_up_and_rebuilds(world: factories.World) -> None:
    factories.order(world, created_at=at("2026-11-20T10:00:00+02:00"))
    out = io.StringIO()
    call_command("roll_up_reports", stdout=out)
    assert f"{world.checkout.slug}: " in out.getvalue()
    assert SalesHour.objects.filter(checkout=world.checkout).exists()
    hours = SalesHour.objects.filter(checkout=world.checkout).count()
    assert f"; {hours:,} hourly rows" in out.getvalue()
    first = list(SalesDay.objects.order_by("pk").values_list("pk", flat=True))
    assert first

    call_command("roll_up_reports", "--rebuild", "--checkout", world.checkout.slug, stdout=out)

    assert SalesDay.objects.count() == len(first)
    assert not SalesDay.objects.filter(pk__in=first).exists()


def test_the_command_refuses_an_unknown_checkout(world: factories.World) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No checkout"):
        call_command("roll_up_reports", "--checkout", "nope", stdout=io.StringIO())
