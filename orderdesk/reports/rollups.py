"""Keeping the daily rollup (`SalesDay`) in step with the orders.

A day is rolled up once it is settled: `SETTLED_AFTER` days after it ended in the
organization's time zone. By then every write that report figures depend on has landed on
it — payments, refunds and new orders are stamped with the time they happen, and the last
changes to an opened checkout (consent, billing country) come while the customer is on the
page. The days after stay live, so a report is always current. The one change that reaches
back further, reversing refunds ("Also restore refunded data"), refreshes the days it touches
with `refresh_days()` in its own transaction. A refund the provider reverses after it
succeeded (issue 12) is booked by `payments`, below this layer, which marks it
`rollup_stale`: `refresh_stale_refunds()` rebuilds its days before any report reads the
rollup and in the periodic job.

The hourly rollup (`SalesHour`, reports in other time zones) follows the same rules and the
same paths: `roll_up()` adds the UTC hours up to the same settled instant (the end of the
last settled day, to the hour), `refresh_days()` rebuilds the hours of the instants it is
given, `rebuild()` throws both away. Hours are UTC, so an organization changing its time
zone keeps them. The hours' first quarter and half (`SalesHourPart`) go the same way, with
their own watermark, since they came after the hours.

`roll_up()` is idempotent and safe to run from several workers: the state row is locked, and
days (then hours) are added month by month, each month in its own transaction, so a crash
loses at most one month's work and readers never see half a month.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Min, Q
from django.tasks import task
from django.utils import timezone

from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout, User
from orderdesk.payments.models import Refund
from orderdesk.reports.facts import (
    GRAIN_KEYS,
    ORDER_GRAINS,
    ZONE_KEPT,
    HourFacts,
    LiveFacts,
    floor_hour,
)
from orderdesk.reports.models import (
    PART_MINUTES,
    Grain,
    RollupState,
    SalesDay,
    SalesHour,
    SalesHourPart,
    Sums,
    ZoneDay,
    ZoneRollup,
)
from orderdesk.reports.periods import Period, midnight

SETTLED_AFTER = dt.timedelta(days=1)
_CHUNK = dt.timedelta(days=31)
_DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)
# SQLite has one write lock, and a writer waiting for it polls every 100 ms at most (its busy
# handler). A rollup's chunks back to back leave it free for microseconds between them, so a
# waiter could wait out its whole timeout: the demo's task worker did, at 20 s, while its first
# rollup built a year of hours and their parts. A longer pause than that poll between chunks
# lets it in.
_SQLITE_GAP = 0.15


def _between_chunks(more: bool) -> None:
    """After a chunk's transaction, if `more` chunks follow: on SQLite, time for a waiting
    writer to take the lock before the next. Not inside an outer transaction (a test's), which
    holds the lock throughout."""
    if more and connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(_SQLITE_GAP)


def _tz(checkout: Checkout) -> ZoneInfo:
    return ZoneInfo(checkout.organization.time_zone)


def settled_until(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The first day that is not settled yet: days before it may be rolled up."""
    today = (now or timezone.now()).astimezone(tz).date()
    return today - SETTLED_AFTER


def _cells(live: LiveFacts | HourFacts, per: str, make: Callable[..., Sums]) -> list[Sums]:
    """The rollup rows of `live`'s instants, one per grain, bucket (`per`) and key."""
    cells: dict[tuple[Any, ...], Sums] = {}

    def cell(grain: Grain, row: Mapping[str, Any]) -> Sums:
        keys = GRAIN_KEYS[grain]
        index = (grain, row["day"], row["cur"], *(row[k] for k in keys))
        found = cells.get(index)
        if found is None:
            found = make(
                grain=grain, bucket=row["day"], currency=row["cur"], **{k: row[k] for k in keys}
            )
            cells[index] = found
        return found

    def add(grain: Grain, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            c = cell(grain, row)
            c.orders += row["n"]
            c.amount_minor += row["amount"] or 0
            c.vat_minor += row.get("vat") or 0

    for grain in ORDER_GRAINS:
        keys = GRAIN_KEYS[grain]
        add(grain, live.sales(*keys, per=per))
        if grain != Grain.PLACE:
            for row in live.opened(*keys, per=per):
                cell(grain, row).opened += row["n"]
    add(Grain.LINE, live.lines(*GRAIN_KEYS[Grain.LINE], per=per))
    add(Grain.METHOD, live.payments(per=per))
    add(Grain.REFUND, live.refunds(per=per))
    add(Grain.VAT, live.vat(per=per))
    add(Grain.REFUND_VAT, live.refund_vat(per=per))
    return list(cells.values())


def _write(model: type[Sums], per: str, facts: LiveFacts | HourFacts, **fixed: Any) -> int:
    """Write the rows of `facts` split by `per` ("day" or "hour") as `model` rows, each with
    its bucket in the field of that name and the `fixed` fields; returns how many."""

    def make(bucket: Any, **fields: Any) -> Sums:
        return model(**fixed, **{per: bucket}, **fields)

    cells = _cells(facts, per, make)
    model._default_manager.bulk_create(cells, batch_size=2000)
    return len(cells)


def _build(checkout_id: int, tz: ZoneInfo, first_day: dt.date, end_day: dt.date) -> int:
    """Write the rows of the days [first_day, end_day), replacing any already there."""
    SalesDay.objects.filter(checkout_id=checkout_id, day__gte=first_day, day__lt=end_day).delete()
    live = LiveFacts(frozenset({checkout_id}), midnight(first_day, tz), midnight(end_day, tz), tz)
    return _write(SalesDay, "day", live, checkout_id=checkout_id)


def _build_hours(checkout_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Write the rows of the UTC hours [start, end) (whole hours), replacing any there."""
    SalesHour.objects.filter(checkout_id=checkout_id, hour__gte=start, hour__lt=end).delete()
    live = LiveFacts(frozenset({checkout_id}), start, end, ZoneInfo("UTC"))
    return _write(SalesHour, "hour", live, checkout_id=checkout_id)


def _build_parts(checkout_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Write the parts of the UTC hours [start, end) (whole hours), replacing any there."""
    SalesHourPart.objects.filter(checkout_id=checkout_id, hour__gte=start, hour__lt=end).delete()
    # Only the hours that have any facts (rolled up just before) can have parts. Slicing every
    # hour of a month made one statement of ~740 ranges: 1.2 s a month on SQLite even for a
    # handful of orders, each month holding the write lock, so the demo's task worker timed
    # out waiting for it.
    hours = list(
        SalesHour.objects.filter(checkout_id=checkout_id, hour__gte=start, hour__lt=end)
        .values_list("hour", flat=True)
        .distinct()
        .order_by("hour")
    )
    if not hours:
        return 0
    written = 0
    for minutes in PART_MINUTES:
        length = dt.timedelta(minutes=minutes)
        slices = tuple((h, h + length) for h in hours)
        live = LiveFacts(frozenset({checkout_id}), start, end, ZoneInfo("UTC"), slices)
        written += _write(SalesHourPart, "hour", live, checkout_id=checkout_id, minutes=minutes)
    return written


def _build_zone_days(
    checkout_id: int, tz: ZoneInfo, first_day: dt.date, end_day: dt.date, state: RollupState
) -> int:
    """Write the rows of the days [first_day, end_day) in `tz`, replacing any already there:
    from the hourly rollup and its parts (as a report in that zone reads it), live where
    they do not reach."""
    ZoneDay.objects.filter(
        checkout_id=checkout_id, time_zone=tz.key, day__gte=first_day, day__lt=end_day
    ).delete()
    ids = frozenset({checkout_id})
    period = Period(first_day, end_day - _DAY, tz)
    facts: LiveFacts | HourFacts = LiveFacts(ids, period.start, period.end, tz)
    if state.hours_until is not None and state.hours_until > period.start:
        facts = HourFacts(ids, period, state.hours_until, parts_until=state.parts_until)
    return _write(ZoneDay, "day", facts, checkout_id=checkout_id, time_zone=tz.key)


def _first_day(checkout_id: int, tz: ZoneInfo, fallback: dt.date) -> dt.date:
    # Payments, refunds and lines all come after their order was opened.
    first = Order.objects.filter(checkout_id=checkout_id).aggregate(first=Min("created_at"))
    return first["first"].astimezone(tz).date() if first["first"] else fallback


def _first_hour(checkout_id: int, fallback: dt.datetime) -> dt.datetime:
    first = Order.objects.filter(checkout_id=checkout_id).aggregate(first=Min("created_at"))
    return floor_hour(first["first"]) if first["first"] else fallback


def roll_up(checkout: Checkout, *, now: dt.datetime | None = None) -> int:
    """Add the checkout's settled days that the rollup lacks, then the settled UTC hours the
    hourly rollup lacks; returns how many days were added.

    A rollup built in another time zone (the organization changed its own) is rebuilt.
    """
    tz = _tz(checkout)
    target = settled_until(tz, now)
    state, _ = RollupState.objects.get_or_create(
        checkout=checkout,
        defaults={"time_zone": tz.key, "complete_until": _first_day(checkout.pk, tz, target)},
    )
    added = 0
    while True:
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(pk=state.pk)
            if state.time_zone != tz.key:
                SalesDay.objects.filter(checkout_id=checkout.pk).delete()
                state.time_zone = tz.key
                state.complete_until = _first_day(checkout.pk, tz, target)
            if state.complete_until >= target:
                state.save()
                break
            end = min(state.complete_until + _CHUNK, target)
            _build(checkout.pk, tz, state.complete_until, end)
            added += (end - state.complete_until).days
            state.complete_until = end
            state.save()
        _between_chunks(end < target)
    hours = _roll_up_hours(checkout, floor_hour(midnight(target, tz)))
    parts = _roll_up_parts(checkout, floor_hour(midnight(target, tz)))
    zone_days = _roll_up_zones(checkout, now)
    if connection.vendor == "postgresql":
        # Fresh statistics after a big load, or the planner takes the table for empty.
        with connection.cursor() as cursor:
            if added > _CHUNK.days:
                cursor.execute(f"ANALYZE {SalesDay._meta.db_table}")
            if hours > _CHUNK / _HOUR:
                cursor.execute(f"ANALYZE {SalesHour._meta.db_table}")
            if parts > _CHUNK / _HOUR:
                cursor.execute(f"ANALYZE {SalesHourPart._meta.db_table}")
            if zone_days > _CHUNK.days:
                cursor.execute(f"ANALYZE {ZoneDay._meta.db_table}")
    return added


def _roll_up_hours(checkout: Checkout, target: dt.datetime) -> int:
    """Add the UTC hours before `target` that the hourly rollup lacks; returns how many."""
    return _advance(checkout, target, "hours_until", _build_hours)


def _roll_up_parts(checkout: Checkout, target: dt.datetime) -> int:
    """Add the parts of the UTC hours before `target` that the rollup lacks; returns how
    many hours. Parts come from the hours: never past what the hours have rolled up."""
    return _advance(
        checkout,
        target,
        "parts_until",
        _build_parts,
        cap=lambda state: state.hours_until,
    )


def _advance(
    checkout: Checkout,
    target: dt.datetime,
    until: str,
    build: Callable[[int, dt.datetime, dt.datetime], object],
    cap: Callable[[RollupState], dt.datetime | None] | None = None,
) -> int:
    """Move the checkout's `RollupState.<until>` up to `target` and `cap(state)` (nothing
    while the cap is None), a chunk of hours at a time, each built by `build` in its own transaction under the state's row
    lock, so two workers never build the same hours; returns how many hours were added."""
    added = 0
    while True:
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(checkout=checkout)
            start = getattr(state, until)
            if start is None:
                start = _first_hour(checkout.pk, target)
                setattr(state, until, start)
            bound = cap(state) if cap is not None else target
            limit = start if bound is None else min(target, bound)
            if start >= limit:
                state.save()
                return added
            end = min(start + _CHUNK, limit)
            build(checkout.pk, start, end)
            added += int((end - start) / _HOUR)
            setattr(state, until, end)
            state.save()
        _between_chunks(end < limit)


def member_zones(checkout: Checkout) -> set[str]:
    """The time zones the checkout's members report in, other than the organization's."""
    zones = set(
        User.objects.filter(
            Q(memberships__organization_id=checkout.organization_id)
            | Q(checkout_memberships__checkout=checkout),
            is_active=True,
        )
        .exclude(time_zone="")
        .values_list("time_zone", flat=True)
        .distinct()
    )
    return zones - {checkout.organization.time_zone}


def _roll_up_zones(checkout: Checkout, now: dt.datetime | None) -> int:
    """Bring the days of every zone the checkout's members report in, or a report asked for
    lately, up to the hourly rollup; forget the asked zones no one asked for since
    `ZONE_KEPT`. Returns how many days were added."""
    now = now or timezone.now()
    members = member_zones(checkout)
    for zone in members:
        ZoneRollup.objects.get_or_create(checkout=checkout, time_zone=zone)
    kept = ZoneRollup.objects.filter(checkout=checkout)
    expired = kept.exclude(time_zone__in=members).filter(
        Q(asked_at__isnull=True) | Q(asked_at__lt=now - ZONE_KEPT)
    )
    for zone in expired.values_list("time_zone", flat=True):
        with transaction.atomic():
            ZoneDay.objects.filter(checkout=checkout, time_zone=zone).delete()
            ZoneRollup.objects.filter(checkout=checkout, time_zone=zone).delete()
    added = 0
    for zone in kept.values_list("time_zone", flat=True).order_by("time_zone"):
        added += _roll_up_zone(checkout, ZoneInfo(zone), now)
    return added


@task()
def roll_up_zones_task(checkout_id: int) -> None:
    """Build the days of a zone a report has just asked for (and any other the checkout
    lacks), without waiting for the periodic rollup. Nothing before the hours are built."""
    checkout = Checkout.objects.select_related("organization").filter(pk=checkout_id).first()
    if checkout is not None and RollupState.objects.filter(checkout=checkout).exists():
        _roll_up_zones(checkout, None)


def _roll_up_zone(checkout: Checkout, tz: ZoneInfo, now: dt.datetime) -> int:
    """Add the days in `tz` that the zone's rollup lacks, up to the settled days whose hours
    (and their parts) are rolled up, a month per transaction; returns how many."""
    added = 0
    while True:
        with transaction.atomic():
            # The state's lock first, as `refresh_days` takes it: a day rebuilt there is
            # never built here at the same time from the hours it is rewriting.
            state = RollupState.objects.select_for_update().get(checkout=checkout)
            zone = (
                ZoneRollup.objects.select_for_update()
                .filter(checkout=checkout, time_zone=tz.key)
                .first()
            )
            covered = min(
                (h for h in (state.hours_until, state.parts_until) if h is not None), default=None
            )
            if zone is None or covered is None:  # forgotten meanwhile, or no hours yet
                return added
            target = min(settled_until(tz, now), covered.astimezone(tz).date())
            start = zone.complete_until or _first_day(checkout.pk, tz, target)
            if start >= target:
                if zone.complete_until is None:
                    # Nothing happened before `start`: its days are complete, and empty.
                    zone.complete_until = start
                    zone.save(update_fields=["complete_until"])
                return added
            end = min(start + _CHUNK, target)
            _build_zone_days(checkout.pk, tz, start, end, state)
            added += (end - start).days
            zone.complete_until = end
            zone.save(update_fields=["complete_until"])
        _between_chunks(end < target)


def roll_up_all(*, now: dt.datetime | None = None) -> int:
    """Bring every checkout's rollup up to date (the worker runs this periodically)."""
    refresh_stale_refunds()
    checkouts = Checkout.objects.select_related("organization").order_by("pk")
    return sum(roll_up(checkout, now=now) for checkout in checkouts)


def refresh_stale_refunds(checkout_ids: Iterable[int] | None = None) -> int:
    """Rebuild the rolled-up days that still count refunds the provider has since reversed
    (`Refund.rollup_stale`), and clear the mark in the same transaction; returns how many.

    Rows another transaction is refreshing are skipped, not waited for."""
    stale = Refund.objects.filter(rollup_stale=True)
    # Asked without the orders (a tiny partial index): a report over rolled-up days reads
    # no order row when nothing is stale.
    if not stale.exists():
        return 0
    if checkout_ids is not None:
        stale = stale.filter(order__checkout_id__in=list(checkout_ids))
    with transaction.atomic():
        rows = list(
            stale.select_for_update(skip_locked=True, of=("self",)).values_list(
                "pk", "order__checkout_id", "settled_at"
            )
        )
        by_checkout: dict[int, list[dt.datetime]] = {}
        for _pk, checkout_id, settled_at in rows:
            if settled_at is not None:
                by_checkout.setdefault(checkout_id, []).append(settled_at)
        for checkout_id, moments in by_checkout.items():
            refresh_days(checkout_id, moments)
        Refund.objects.filter(pk__in=[pk for pk, _c, _s in rows]).update(rollup_stale=False)
    return len(rows)


def rebuild(checkout: Checkout, *, now: dt.datetime | None = None) -> int:
    """Throw the checkout's rollup away and build it again from the orders."""
    with transaction.atomic():
        RollupState.objects.filter(checkout=checkout).delete()
        SalesDay.objects.filter(checkout_id=checkout.pk).delete()
        SalesHour.objects.filter(checkout_id=checkout.pk).delete()
        SalesHourPart.objects.filter(checkout_id=checkout.pk).delete()
        ZoneDay.objects.filter(checkout_id=checkout.pk).delete()
        ZoneRollup.objects.filter(checkout_id=checkout.pk).update(complete_until=None)
    return roll_up(checkout, now=now)


def refresh_days(checkout_id: int, moments: Iterable[dt.datetime]) -> None:
    """Rebuild the rolled-up days and UTC hours (and their parts) holding these instants,
    after a change that reached back.

    Call it inside the transaction that made the change, so the rollup and the orders commit
    together; days not rolled up yet are live already and need nothing.
    """
    state = RollupState.objects.select_for_update().filter(checkout_id=checkout_id).first()
    if state is None:
        return
    tz = ZoneInfo(state.time_zone)
    moments = list(moments)
    days = sorted({m.astimezone(tz).date() for m in moments})
    for day in days:
        if day < state.complete_until:
            _build(checkout_id, tz, day, day + _DAY)
    for hour in sorted({floor_hour(m) for m in moments}):
        if state.hours_until is not None and hour < state.hours_until:
            _build_hours(checkout_id, hour, hour + _HOUR)
        if state.parts_until is not None and hour < state.parts_until:
            _build_parts(checkout_id, hour, hour + _HOUR)
    # The zones' days come from the hours: rebuilt after them.
    for zone in ZoneRollup.objects.filter(checkout_id=checkout_id, complete_until__isnull=False):
        zone_tz = ZoneInfo(zone.time_zone)
        for day in sorted({m.astimezone(zone_tz).date() for m in moments}):
            if zone.complete_until is not None and day < zone.complete_until:
                _build_zone_days(checkout_id, zone_tz, day, day + _DAY, state)
