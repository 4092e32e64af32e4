"""Where report figures come from: grouped rows of the live tables, or of the daily rollup.

Every report figure is a sum over rows of (keys…, currency `cur`, local `day`) → `amount`, `n`:

- `sales(*keys)`: paid orders on their payment day, `n` orders, `amount` their totals;
- `opened(*keys)`: orders on their creation day (opened checkouts), `n` only; with
  `by_currency=False` grouped without the currency (`cur` is None, `per` not a `Split`):
  counts that nothing splits by currency, such as a converted report's charts of opened
  checkouts;
- `lines(*keys)`: lines of paid orders on the order's payment day;
- `payments()`: settled payment attempts of paid orders, by provider and method;
- `refunds()`: counted refunds on their booking day (succeeded or recorded);
- `vat()`: lines of paid orders by VAT rate on the order's payment day, with `vat` their VAT;
- `refund_vat()`: lines of counted refunds by the order line's VAT rate on the refund's
  booking day, with `vat` the VAT they give back (`RefundLine.vat_minor`).

`per` says how finely rows are split in time: "day", "week" or "month" (`day` is then the
bucket's first day), or None (`day` is None). Converting needs each payment day's rate, a
chart needs its buckets, and a table neither: one row per key and currency, not hundreds.
A `Split` splits one currency more coarsely than the rest: amounts already in the display
currency need no rate.

`LiveFacts` groups the orders tables; `RolledFacts` reads the same rows from `SalesDay`, which
`reports.rollups` fills from `LiveFacts` day by day, so both give the same numbers by
construction. `facts_for()` combines them: the rollup for the finished days it holds, the
live tables for the rest. Rows of the same key may come from both parts; readers add them up.

`SalesDay`'s days are the organization's. A report in any other time zone reads `HourFacts`:
the whole UTC hours from `SalesHour` (`RolledHours`, filled from `LiveFacts` by UTC hour),
each folded into the local bucket it lies in; where a bucket boundary cuts an hour (a midnight
at :15 or :30 UTC), the hour's part before the cut from `SalesHourPart`; and live slices for
the rest — the period's partial first and last hour, a cut no part covers, and the instants
past the hourly rollup's watermark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Trunc, TruncDate
from django.utils import timezone

from orderdesk.orders.models import Order, OrderLine, OrderStatus
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Refund,
    RefundLine,
    RefundStatus,
)
from orderdesk.reports.models import (
    PART_MINUTES,
    Grain,
    RollupState,
    SalesDay,
    SalesHour,
    SalesHourPart,
    ZoneDay,
    ZoneRollup,
)
from orderdesk.reports.periods import Period, bucket_of, midnight

# The keys each grain groups by; a query's keys pick the grain that holds them all.
GRAIN_KEYS: dict[Grain, tuple[str, ...]] = {
    Grain.CHANNEL: ("source", "link_id", "offer_id"),
    Grain.PLACE: ("country", "region"),
    Grain.VISITOR: ("device_type", "analytics_consent"),
    Grain.LINE: ("product_id", "kind", "add_on_id", "offer_id", "source"),
    Grain.METHOD: ("provider", "method"),
    Grain.REFUND: (),
    Grain.VAT: ("vat_rate",),
    Grain.REFUND_VAT: ("vat_rate",),
}
ORDER_GRAINS = (Grain.CHANNEL, Grain.PLACE, Grain.VISITOR)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Split:
    """Rows split in time by `per`, except rows in `currency`, split by `currency_per`.

    `per` and `currency_per` are "day", "week", "month", or None (not split at all).
    """

    per: str | None
    currency: str | None = None
    currency_per: str | None = None

    def expression(
        self,
        bucket: Callable[[str | None], Any],
        currency_field: str,
        output_field: Any = None,
    ) -> Any:
        """The bucket of each row, from `bucket(per)` giving the expression for one `per`."""
        if self.currency is None or self.currency_per == self.per:
            return bucket(self.per)
        return Case(
            When(**{currency_field: self.currency}, then=bucket(self.currency_per)),
            default=bucket(self.per),
            output_field=output_field or DateField(),
        )

    def per_of(self, currency: str) -> str | None:
        """How the rows of `currency` are split."""
        return self.currency_per if currency == self.currency else self.per


# How finely rows are split in time: "day", "week", "month", not at all (None), or a Split.
Per = str | None | Split


def _split(per: Per) -> Split:
    return per if isinstance(per, Split) else Split(per)


def _currency(by_currency: bool, per: Per) -> Any:
    """A row's `cur`: the tables' currency column, or one None for every currency (a constant,
    which Django leaves out of the GROUP BY). A `Split` splits each currency's rows apart in
    time, so they cannot be added up across currencies."""
    if by_currency:
        return F("currency")
    split = _split(per)
    if split.currency is not None and split.currency_per != split.per:
        raise ValueError("Rows split by currency cannot be read without it.")
    return Value(None, CharField())


def order_grain(keys: Iterable[str]) -> Grain:
    wanted = set(keys)
    for grain in ORDER_GRAINS:
        if wanted <= set(GRAIN_KEYS[grain]):
            return grain
    raise ValueError(f"No rollup grain holds the keys {sorted(wanted)}.")


def _bucket(field: str, per: str | None, tz: ZoneInfo) -> Any:
    """The time bucket in `tz` of the instant in `field`: its local day, the first day of its
    week or month, its hour ("hour", an instant: the rollup's own grain), or None."""
    if per is None:
        return Value(None, DateField())
    if per == "day":
        return TruncDate(field, tzinfo=tz)
    if per == "hour":
        return Trunc(field, "hour", tzinfo=tz)
    # A date, also inside CASE (Trunc converts to a date only in Python, at the top).
    return Cast(Trunc(field, per, tzinfo=tz), DateField())


Slices = tuple[tuple[dt.datetime, dt.datetime], ...]
# Only the rows of one currency (True) or of every other one (False).
OneCurrency = tuple[str, bool] | None


def _only(qs: QuerySet[Any], field: str, currency: OneCurrency) -> QuerySet[Any]:
    if currency is None:
        return qs
    code, include = currency
    return qs.filter(**{field: code}) if include else qs.exclude(**{field: code})


@dataclass(frozen=True)
class LiveFacts:
    """Grouped rows of the orders tables for the instants [start, end), days in `tz`; with
    `slices`, only for the instants of [start, end) inside one of those [from, to) ranges."""

    checkout_ids: frozenset[int]
    start: dt.datetime
    end: dt.datetime
    tz: ZoneInfo
    slices: Slices | None = None
    currency: OneCurrency = None

    def _within(self, field: str) -> Q:
        if self.slices is None:
            return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})
        # The slices lie inside [start, end): bounds around them only made PostgreSQL scan
        # the whole range instead of each slice's (a third slower with 339 slices).
        ranges = [Q(**{f"{field}__gte": a, f"{field}__lt": b}) for a, b in self.slices]
        return functools.reduce(operator.or_, ranges, Q(pk__in=[]))

    def _grouped(
        self, qs: QuerySet[Any], keys: Iterable[str], day_field: str, per: Per, **sums: Any
    ) -> list[Row]:
        if self.slices == ():
            return []
        qs = _only(qs, "cur", self.currency)
        day = _split(per).expression(lambda p: _bucket(day_field, p, self.tz), "cur")
        return list(qs.annotate(day=day).values(*keys, "cur", "day").annotate(**sums).order_by())

    def paid_orders(self) -> QuerySet[Order]:
        return Order.objects.filter(
            self._within("paid_at"),
            checkout_id__in=self.checkout_ids,
            status__in=OrderStatus.WAS_PAID,
        )

    def sales(self, *keys: str, per: Per = "day") -> list[Row]:
        return self._grouped(
            self.paid_orders().annotate(cur=F("currency")),
            keys,
            "paid_at",
            per,
            amount=Sum("total_minor"),
            n=Count("pk"),
        )

    def opened(self, *keys: str, per: Per = "day", by_currency: bool = True) -> list[Row]:
        opened = Order.objects.filter(self._within("created_at"), checkout_id__in=self.checkout_ids)
        return self._grouped(
            opened.annotate(cur=_currency(by_currency, per)), keys, "created_at", per, n=Count("pk")
        )

    def lines(self, *keys: str, per: Per = "day") -> list[Row]:
        # Order columns under the names a SalesDay row uses; the join filter lets PostgreSQL
        # use the (checkout, paid_at) index.
        order_columns = {"offer_id": F("order__offer_id"), "source": F("order__source")}
        lines = OrderLine.objects.filter(
            self._within("order__paid_at"),
            order__checkout_id__in=self.checkout_ids,
            order__status__in=OrderStatus.WAS_PAID,
        ).annotate(
            cur=F("order__currency"), **{k: v for k, v in order_columns.items() if k in keys}
        )
        return self._grouped(
            lines, keys, "order__paid_at", per, amount=Sum("total_minor"), n=Count("pk")
        )

    def payments(self, *, per: Per = "day") -> list[Row]:
        attempts = PaymentAttempt.objects.filter(
            self._within("order__paid_at"),
            order__checkout_id__in=self.checkout_ids,
            order__status__in=OrderStatus.WAS_PAID,
            status__in=PaymentStatus.SETTLED,
        ).annotate(cur=F("currency"))
        return self._grouped(
            attempts,
            ("provider", "method"),
            "order__paid_at",
            per,
            amount=Sum("amount_minor"),
            n=Count("pk"),
        )

    def refunds(self, *, per: Per = "day") -> list[Row]:
        refunds = Refund.objects.filter(
            self._within("settled_at"),
            order__checkout_id__in=self.checkout_ids,
            status__in=RefundStatus.BOOKED,
        ).annotate(cur=F("currency"))
        return self._grouped(
            refunds, (), "settled_at", per, amount=Sum("amount_minor"), n=Count("pk")
        )

    def vat(self, *, per: Per = "day") -> list[Row]:
        lines = OrderLine.objects.filter(
            self._within("order__paid_at"),
            order__checkout_id__in=self.checkout_ids,
            order__status__in=OrderStatus.WAS_PAID,
        ).annotate(cur=F("order__currency"))
        return self._grouped(
            lines,
            ("vat_rate",),
            "order__paid_at",
            per,
            amount=Sum("total_minor"),
            vat=Sum("vat_minor"),
            n=Count("pk"),
        )

    def refund_vat(self, *, per: Per = "day") -> list[Row]:
        # The same refunds as `refunds()`, line by line.
        lines = RefundLine.objects.filter(
            self._within("refund__settled_at"),
            refund__order__checkout_id__in=self.checkout_ids,
            refund__status__in=RefundStatus.BOOKED,
        ).annotate(cur=F("refund__currency"), vat_rate=F("order_line__vat_rate"))
        return self._grouped(
            lines,
            ("vat_rate",),
            "refund__settled_at",
            per,
            amount=Sum("amount_minor"),
            vat=Sum("vat_minor"),
            n=Count("pk"),
        )


class _Rolled:
    """The rows read from a rollup table: each method picks its grain and measure, and `cur`,
    the rows' currency (`_currency`)."""

    def _rows(
        self, grain: Grain, keys: Iterable[str], measure: str, per: Per, cur: Any, **sums: Any
    ) -> list[Row]:
        raise NotImplementedError

    def _sums(self, grain: Grain, keys: Iterable[str], per: Per) -> list[Row]:
        return self._rows(
            grain, keys, "orders", per, F("currency"), amount=Sum("amount_minor"), n=Sum("orders")
        )

    def sales(self, *keys: str, per: Per = "day") -> list[Row]:
        return self._sums(order_grain(keys), keys, per)

    def opened(self, *keys: str, per: Per = "day", by_currency: bool = True) -> list[Row]:
        return self._rows(
            order_grain(keys), keys, "opened", per, _currency(by_currency, per), n=Sum("opened")
        )

    def lines(self, *keys: str, per: Per = "day") -> list[Row]:
        return self._sums(Grain.LINE, keys, per)

    def payments(self, *, per: Per = "day") -> list[Row]:
        return self._sums(Grain.METHOD, ("provider", "method"), per)

    def refunds(self, *, per: Per = "day") -> list[Row]:
        return self._sums(Grain.REFUND, (), per)

    def _vat(self, grain: Grain, per: Per) -> list[Row]:
        return self._rows(
            grain,
            ("vat_rate",),
            "orders",
            per,
            F("currency"),
            amount=Sum("amount_minor"),
            vat=Sum("vat_minor"),
            n=Sum("orders"),
        )

    def vat(self, *, per: Per = "day") -> list[Row]:
        return self._vat(Grain.VAT, per)

    def refund_vat(self, *, per: Per = "day") -> list[Row]:
        return self._vat(Grain.REFUND_VAT, per)


@dataclass(frozen=True)
class RolledFacts(_Rolled):
    """The same rows, summed from `SalesDay` for the days [first_day, end_day), or with
    `zone` from `ZoneDay`, the days of that time zone."""

    checkout_ids: frozenset[int]
    first_day: dt.date
    end_day: dt.date
    zone: str | None = None

    def _rows(
        self, grain: Grain, keys: Iterable[str], measure: str, per: Per, cur: Any, **sums: Any
    ) -> list[Row]:
        def bucket(per: str | None) -> Any:
            if per is None:
                return Value(None, DateField())
            if per == "day":
                return F("day")
            return Cast(Trunc("day", per, output_field=DateField()), DateField())

        # `day` is a column here: any other bucket goes by another name and is renamed.
        split = _split(per)
        by_day = split == Split("day")
        renamed = {} if by_day else {"bucket": split.expression(bucket, "currency")}
        table: QuerySet[Any] = SalesDay.objects.all()
        if self.zone is not None:
            table = ZoneDay.objects.filter(time_zone=self.zone)
        rows = list(
            table.filter(
                checkout_id__in=self.checkout_ids,
                grain=grain,
                day__gte=self.first_day,
                day__lt=self.end_day,
                **{f"{measure}__gt": 0},
            )
            .values(*keys, *(("day",) if by_day else ()), cur=cur, **renamed)
            .annotate(**sums)
            .order_by()
        )
        if not by_day:
            for row in rows:
                row["day"] = row.pop("bucket")
        return rows


@dataclass(frozen=True)
class RolledDays(_Rolled):
    """Rows summed from `SalesDay` for runs of the organization's days [first, end), each run
    lying wholly inside one bucket of another time zone: `runs` holds (first, end, bucket)."""

    checkout_ids: frozenset[int]
    runs: tuple[tuple[dt.date, dt.date, dt.date | None], ...]
    currency: OneCurrency = None

    def _rows(
        self, grain: Grain, keys: Iterable[str], measure: str, per: Per, cur: Any, **sums: Any
    ) -> list[Row]:
        within = functools.reduce(
            operator.or_, (Q(day__gte=first, day__lt=end) for first, end, _ in self.runs)
        )
        bucket: Any = Value(None, DateField())
        if per is not None:
            bucket = Case(
                *(
                    When(day__gte=first, day__lt=end, then=Value(label))
                    for first, end, label in self.runs
                ),
                output_field=DateField(),
            )
        rows = list(
            _only(SalesDay.objects.all(), "currency", self.currency)
            .filter(
                within,
                checkout_id__in=self.checkout_ids,
                grain=grain,
                day__gte=self.runs[0][0],
                day__lt=self.runs[-1][1],
                **{f"{measure}__gt": 0},
            )
            .values(*keys, cur=cur, bucket=bucket)
            .annotate(**sums)
            .order_by()
        )
        # `day` is a column here: the bucket goes by another name and is renamed.
        for row in rows:
            row["day"] = row.pop("bucket")
        return rows


@dataclass(frozen=True)
class RolledHours(_Rolled):
    """The same rows, summed from `SalesHour` for the UTC hours in `ranges` ([from, to), whole
    hours) except `skip`, each hour in the bucket of `tz` its last instant lies in.

    `parts` are the hours a bucket boundary cuts (with the minutes past the hour where it
    falls), read from `SalesHourPart`: the part before the cut moves from the hour's bucket
    (the one after the cut) to the bucket before. Where that leaves a group with nothing
    (all its orders of the hour came before the cut), its row is dropped, as live."""

    checkout_ids: frozenset[int]
    ranges: Slices
    tz: ZoneInfo
    skip: frozenset[dt.datetime] = frozenset()
    currency: OneCurrency = None
    parts: tuple[tuple[dt.datetime, int], ...] = ()

    def _of_hours(
        self,
        model: type[SalesHour | SalesHourPart],
        condition: Q,
        grain: Grain,
        measure: str,
        start: dt.datetime,
        end: dt.datetime,
        others: list[str] | None = None,
    ) -> QuerySet[Any]:
        """The checkouts' rows of `model` in [start, end) matching `condition`, with some of
        `measure`, in the currency asked for; `others`, if given, are every currency of the
        grain but the one excluded (`_other_currencies`)."""
        rows = model.objects.filter(
            condition,
            checkout_id__in=self.checkout_ids,
            grain=grain,
            hour__gte=start,
            hour__lt=end,
            **{f"{measure}__gt": 0},
        )
        if others is not None:
            return rows.filter(currency__in=others)
        return _only(rows, "currency", self.currency)

    def _others(self, grain: Grain) -> list[str] | None:
        """For a read of every currency but one, the others by name, or None (read as is)."""
        if self.currency is None or self.currency[1]:
            return None
        return [c for c in _hour_currencies(self.checkout_ids, grain) if c != self.currency[0]]

    def _rows(
        self, grain: Grain, keys: Iterable[str], measure: str, per: Per, cur: Any, **sums: Any
    ) -> list[Row]:
        if not self.ranges:
            return []
        # HourFacts reads the two sides of a split apart, each with one `per`.
        assert not isinstance(per, Split), per
        keys = tuple(keys)
        start, end = self.ranges[0][0], self.ranges[-1][1]
        within = functools.reduce(
            operator.or_, (Q(hour__gte=a, hour__lt=b) for a, b in self.ranges)
        )
        others = self._others(grain)
        hours = self._of_hours(SalesHour, within, grain, measure, start, end, others)
        if self.skip:
            hours = hours.exclude(hour__in=sorted(self.skip))
        if per is None:
            return list(
                hours.annotate(day=Value(None, DateField()))
                .values(*keys, "day", cur=cur)
                .annotate(**sums)
                .order_by()
            )
        instants, days = _bucket_edges(self.tz, start, end, per)
        # An hour belongs to the bucket its last instant lies in: the one after a cut.
        rows = _numbered(hours, [floor_hour(i) for i in instants], keys, cur, sums)
        if self.parts:
            cuts = functools.reduce(
                operator.or_,
                (
                    Q(minutes=minutes, hour__in=[h for h, m in self.parts if m == minutes])
                    for minutes in sorted({m for _, m in self.parts})
                ),
            )
            # A part's orders are its hour's: the hour's currencies are the parts' too.
            before = self._of_hours(SalesHourPart, cuts, grain, measure, start, end, others)
            rows = _moved_back(rows, _numbered(before, instants, keys, cur, sums), keys)
        for row in rows:
            row["day"] = days[row.pop("bucket") - 1]
        return list(rows)


def _hour_currencies(checkout_ids: frozenset[int], grain: Grain) -> list[str]:
    """Every currency of the checkouts' `SalesHour` rows of `grain`, at any hour.

    A converted report reads the currencies other than the display currency by day; asked
    for as `currency <> 'EUR'` PostgreSQL reads every hour's rows and throws most away (the
    display currency's are about two thirds), asked for by name each currency is a range of
    the (checkout, grain, currency, hour) index. The names come from that index too: one
    descent per currency (a loose index scan), not a scan of the rows.
    """
    if connection.vendor != "postgresql":
        rows = SalesHour.objects.filter(checkout_id__in=checkout_ids, grain=grain)
        return sorted(set(rows.values_list("currency", flat=True)))
    table = SalesHour._meta.db_table
    sql = f"""
        SELECT DISTINCT found.currency
        FROM unnest(%s::bigint[]) AS checkout(id) CROSS JOIN LATERAL (
            WITH RECURSIVE found(currency) AS (
                (SELECT currency FROM {table}
                 WHERE checkout_id = checkout.id AND grain = %s ORDER BY currency LIMIT 1)
                UNION ALL
                SELECT (SELECT h.currency FROM {table} h
                        WHERE h.checkout_id = checkout.id AND h.grain = %s
                          AND h.currency > found.currency
                        ORDER BY h.currency LIMIT 1)
                FROM found WHERE found.currency IS NOT NULL
            )
            SELECT currency FROM found WHERE currency IS NOT NULL
        ) AS found
    """  # noqa: S608 (the table name from the model, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(checkout_ids), grain.value, grain.value])
        return sorted(currency for (currency,) in cursor.fetchall())


def _numbered(
    qs: QuerySet[Any],
    instants: list[dt.datetime],
    keys: tuple[str, ...],
    cur: Any,
    sums: dict[str, Any],
) -> list[dict[str, Any]]:
    """Rows of `qs` grouped by keys, currency and the number of the bucket their `hour` lies
    in: 1 for [instants[0], instants[1]), 2 for the next, and so on."""
    if connection.vendor == "postgresql":
        # Converting a zone's local time row by row (AT TIME ZONE) was most of the query's
        # time: PostgreSQL finds each hour's bucket by binary search among the buckets' first
        # instants instead.
        number: Any = Func(
            F("hour"), Value(instants), function="width_bucket", output_field=IntegerField()
        )
    else:
        number = Case(
            *(When(hour__lt=instant, then=Value(n)) for n, instant in enumerate(instants[1:], 1)),
            default=Value(len(instants)),
            output_field=IntegerField(),
        )
    return list(
        qs.annotate(bucket=number).values(*keys, "bucket", cur=cur).annotate(**sums).order_by()
    )


def _moved_back(
    rows: list[dict[str, Any]], parts: list[dict[str, Any]], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`rows` with each of `parts` (numbered by the bucket before its cut) moved from the
    bucket after the cut to the one before; rows left with nothing are dropped."""
    measures = [m for m in ("n", "amount", "vat") if m in (parts[0] if parts else {})]
    index = {(*(row[k] for k in keys), row["cur"], row["bucket"]): row for row in rows}
    for part in parts:
        key = (*(part[k] for k in keys), part["cur"])
        after = index[(*key, part["bucket"] + 1)]
        for m in measures:
            after[m] = (after[m] or 0) - (part[m] or 0)
        before = index.get((*key, part["bucket"]))
        if before is None:
            index[(*key, part["bucket"])] = dict(part)
        else:
            for m in measures:
                before[m] = (before[m] or 0) + (part[m] or 0)
    return [row for row in index.values() if row["n"]]


def _bucket_edges(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime, per: str
) -> tuple[list[dt.datetime], list[dt.date]]:
    """The first instant and the first day of every bucket (`per`) in `tz` that overlaps the
    instants [start, end)."""
    day = bucket_of(start.astimezone(tz).date(), per)
    instants, days = [], []
    while (first := midnight(day, tz)) < end:
        instants.append(first)
        days.append(day)
        if per == "day":
            day += dt.timedelta(days=1)
        elif per == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return instants, days


_HOUR = dt.timedelta(hours=1)


def floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: dt.datetime) -> dt.datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + _HOUR


def bucket_starts(period: Period, pers: Iterable[str]) -> set[dt.datetime]:
    """The instants inside the period where a bucket of one of `pers` ("day", "week",
    "month") begins in the period's time zone: its local midnights, Mondays, first days."""
    wanted = set(pers)
    starts = set()
    day = period.first_day + dt.timedelta(days=1)
    while day <= period.last_day:
        if (
            "day" in wanted
            or ("week" in wanted and day.weekday() == 0)
            or ("month" in wanted and day.day == 1)
        ):
            starts.add(midnight(day, period.tz))
        day += dt.timedelta(days=1)
    return starts


@dataclass(frozen=True)
class DayRollup:
    """The daily rollup as it stands: complete for the days before `until` in `tz`."""

    tz: ZoneInfo
    until: dt.date


@dataclass(frozen=True)
class HourFacts:
    """A period in a time zone other than the daily rollup's: the organization's days that
    lie wholly inside one of its buckets from `SalesDay` (`days`), the other whole UTC hours
    before `until` from `SalesHour` (the parts of the hours a bucket boundary cuts from
    `SalesHourPart`, before `parts_until`), live slices for the rest.

    Which days and hours fit depends on the buckets asked for, so the parts are chosen per
    call. A table (no split in time) over a year in America/New_York reads the Helsinki days
    inside it and about a day of hours at each edge; a chart by month the days inside each
    month; by day only hours, since no Helsinki day lies inside a New York day. Converting
    needs the other currencies by day (each day has its rate), the display currency only by
    the chart's buckets: the two sides are read apart. In Asia/Kathmandu (midnight at 18:15
    UTC) a chart by day also reads the first quarter of the hour around each midnight.
    """

    checkout_ids: frozenset[int]
    period: Period
    until: dt.datetime
    days: DayRollup | None = None
    currency: OneCurrency = None
    # Every hour before this has its parts in `SalesHourPart`; None: none has.
    parts_until: dt.datetime | None = None

    def parts(self, per: Per) -> tuple[RolledDays | RolledHours | LiveFacts, ...]:
        start, end, tz = self.period.start, self.period.end, self.period.tz
        first, last = _ceil_hour(start), min(floor_hour(end), self.until)
        if last <= first:
            return (LiveFacts(self.checkout_ids, start, end, tz),)
        split = _split(per)
        pers = {p for p in (split.per, split.currency_per) if p is not None}
        starts = bucket_starts(self.period, pers)
        cuts = {
            floor_hour(b): b for b in starts if floor_hour(b) != b and first <= floor_hour(b) < last
        }
        # A cut hour's part before the cut is rolled up if the cut falls at :15 or :30.
        split_hours = tuple(
            (hour, b.minute)
            for hour, b in sorted(cuts.items())
            if b == hour + dt.timedelta(minutes=b.minute)
            and b.minute in PART_MINUTES
            and self.parts_until is not None
            and hour < self.parts_until
        )
        cut = set(cuts) - {hour for hour, _ in split_hours}
        runs = self._day_runs(per, starts, first, last)
        hours = []
        at = first
        for a, b, _ in runs:
            hours.append((at, a))
            at = b
        hours.append((at, last))
        slices = [(start, first), *((hour, hour + _HOUR) for hour in sorted(cut)), (last, end)]
        parts: list[RolledDays | RolledHours | LiveFacts] = []
        if runs and self.days is not None:
            org = self.days.tz
            days = tuple(
                (a.astimezone(org).date(), b.astimezone(org).date(), label) for a, b, label in runs
            )
            parts.append(RolledDays(self.checkout_ids, days, self.currency))
        whole = tuple((a, b) for a, b in hours if a < b)
        parts.append(
            RolledHours(self.checkout_ids, whole, tz, frozenset(cut), self.currency, split_hours)
        )
        live = tuple((a, b) for a, b in slices if a < b)
        parts.append(LiveFacts(self.checkout_ids, start, end, tz, live, self.currency))
        return tuple(parts)

    def _each(self, call: Callable[[Any, Per], list[Row]], per: Per) -> list[Row]:
        """`call(part, per)` on every part. A split by currency (converting: the display
        currency by the chart's buckets, the others by day for their rates) reads each side
        apart, so the display currency's rows can still come from the organization's days."""
        split = _split(per)
        if split.currency is None or split.currency_per == split.per:
            return [row for part in self.parts(split.per) for row in call(part, split.per)]
        rows = []
        for include, side in ((True, split.currency_per), (False, split.per)):
            facts = dataclasses.replace(self, currency=(split.currency, include))
            rows += [row for part in facts.parts(side) for row in call(part, side)]
        return rows

    def _day_runs(
        self, per: Per, starts: set[dt.datetime], first: dt.datetime, last: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime, dt.date | None]]:
        """The instants [from, to) of the organization's rolled-up days that lie wholly inside
        one bucket of the period's zone (and inside [first, last)), with that bucket; only
        where they begin and end on the hour, so the hours around them stay whole. None by
        day: no organization's day lies inside another zone's day."""
        if self.days is None or isinstance(per, Split) or per == "day":
            return []
        org, tz = self.days.tz, self.period.tz
        edges = sorted({self.period.start, *starts, self.period.end})
        runs = []
        for bucket_start, bucket_end in itertools.pairwise(edges):
            lo, hi = max(bucket_start, first), min(bucket_end, last)
            first_day = lo.astimezone(org).date()
            if midnight(first_day, org) < lo:
                first_day += dt.timedelta(days=1)
            end_day = min(hi.astimezone(org).date(), self.days.until)
            if end_day <= first_day:
                continue
            a, b = midnight(first_day, org), midnight(end_day, org)
            if floor_hour(a) != a or floor_hour(b) != b:
                continue
            local = bucket_start.astimezone(tz).date()
            runs.append((a, b, None if per is None else bucket_of(local, per)))
        return runs

    def sales(self, *keys: str, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.sales(*keys, per=p), per)

    def opened(self, *keys: str, per: Per = "day", by_currency: bool = True) -> list[Row]:
        # Refused here, before `_each` reads each side of a split by currency apart.
        _currency(by_currency, per)
        return self._each(lambda part, p: part.opened(*keys, per=p, by_currency=by_currency), per)

    def lines(self, *keys: str, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.lines(*keys, per=p), per)

    def payments(self, *, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.payments(per=p), per)

    def refunds(self, *, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.refunds(per=p), per)

    def vat(self, *, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.vat(per=p), per)

    def refund_vat(self, *, per: Per = "day") -> list[Row]:
        return self._each(lambda part, p: part.refund_vat(per=p), per)


@dataclass(frozen=True)
class Facts:
    """A period's rows from its parts: the rollup's days, then the live tables' rest."""

    parts: tuple[LiveFacts | RolledFacts | HourFacts, ...]

    def sales(self, *keys: str, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.sales(*keys, per=per)]

    def opened(self, *keys: str, per: Per = "day", by_currency: bool = True) -> list[Row]:
        return [
            row
            for part in self.parts
            for row in part.opened(*keys, per=per, by_currency=by_currency)
        ]

    def lines(self, *keys: str, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.lines(*keys, per=per)]

    def payments(self, *, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.payments(per=per)]

    def refunds(self, *, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.refunds(per=per)]

    def vat(self, *, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.vat(per=per)]

    def refund_vat(self, *, per: Per = "day") -> list[Row]:
        return [row for part in self.parts for row in part.refund_vat(per=per)]


@dataclass(frozen=True)
class _State:
    """A checkout's rollup state: its days' zone, days complete before `days_until`, UTC
    hours before `hours_until` and their parts before `parts_until` (None: not built)."""

    time_zone: str
    days_until: dt.date
    hours_until: dt.datetime | None
    parts_until: dt.datetime | None


def _states(checkout_ids: frozenset[int]) -> list[_State]:
    """Every checkout's rollup state, or nothing if one of them has none."""
    states = [
        _State(*row)
        for row in RollupState.objects.filter(checkout_id__in=checkout_ids).values_list(
            "time_zone", "complete_until", "hours_until", "parts_until"
        )
    ]
    return states if states and len(states) == len(checkout_ids) else []


def rolled_until(checkout_ids: frozenset[int], tz: ZoneInfo) -> dt.date | None:
    """The day before which every checkout's rollup is complete in `tz`, or None."""
    states = _states(checkout_ids)
    if not states or any(state.time_zone != tz.key for state in states):
        # Days in another time zone have other boundaries: the daily rollup cannot answer.
        return None
    return min(state.days_until for state in states)


def _hour_facts(
    checkout_ids: frozenset[int], period: Period, states: list[_State]
) -> HourFacts | None:
    hours = [state.hours_until for state in states]
    if not hours or None in hours:
        return None
    until = min(h for h in hours if h is not None)
    if until <= period.start:
        return None
    zones = {state.time_zone for state in states}
    days = None
    if len(zones) == 1:
        days = DayRollup(ZoneInfo(zones.pop()), min(state.days_until for state in states))
    parts = [state.parts_until for state in states]
    parts_until = None if None in parts else min(p for p in parts if p is not None)
    return HourFacts(checkout_ids, period, until, days, parts_until=parts_until)


# A zone a report asks for, which no member has, is kept this long after it was last asked.
ZONE_KEPT = dt.timedelta(days=35)
# At most this many zones per checkout that no member has: past it, such a report reads the
# hourly rollup, as before its zone is built, and nothing more is stored.
ASKED_ZONES = 8


def ask_for_zone(
    checkout_ids: frozenset[int], tz: ZoneInfo, asked: dict[int, dt.datetime | None]
) -> None:
    """A report in `tz`, whose zone rollups were found `asked` (checkout → when last asked;
    None: a member's zone), has the rollup build or keep that zone's days: a checkout without
    them is asked once; one asked more than a day ago is asked again, so the zone stays kept
    while reports read it. Nothing is written while neither holds: reports read, they do not
    write, on every request."""
    now = timezone.now()
    for checkout_id in checkout_ids:
        if checkout_id not in asked:
            zones = ZoneRollup.objects.filter(checkout_id=checkout_id)
            if zones.filter(asked_at__isnull=False).count() < ASKED_ZONES:
                _, created = ZoneRollup.objects.get_or_create(
                    checkout_id=checkout_id, time_zone=tz.key, defaults={"asked_at": now}
                )
                if created:
                    # Built by a worker now rather than at the next periodic rollup. Imported
                    # here: the rollups are built from these facts.
                    from orderdesk.reports.rollups import roll_up_zones_task

                    transaction.on_commit(
                        functools.partial(roll_up_zones_task.enqueue, checkout_id)
                    )
            continue
        last = asked[checkout_id]
        if last is not None and last < now - dt.timedelta(days=1):
            ZoneRollup.objects.filter(checkout_id=checkout_id, time_zone=tz.key).update(
                asked_at=now
            )


def _zone_facts(checkout_ids: frozenset[int], period: Period, states: list[_State]) -> Facts | None:
    """The period from the days of its own zone (`ZoneDay`) where every checkout has them,
    the rest as any other zone reads it; None while they do not reach into the period."""
    found = list(
        ZoneRollup.objects.filter(
            checkout_id__in=checkout_ids, time_zone=period.tz.key
        ).values_list("checkout_id", "complete_until", "asked_at")
    )
    ask_for_zone(checkout_ids, period.tz, {c: asked for c, _, asked in found})
    untils = [until for _, until, _ in found]
    if len(found) < len(checkout_ids) or None in untils:
        return None
    until = min(u for u in untils if u is not None)
    if until <= period.first_day:
        return None
    split = min(until, period.last_day + dt.timedelta(days=1))
    rolled = RolledFacts(checkout_ids, period.first_day, split, zone=period.tz.key)
    if split > period.last_day:
        return Facts((rolled,))
    rest = Period(split, period.last_day, period.tz)
    live = LiveFacts(checkout_ids, rest.start, rest.end, rest.tz)
    return Facts((rolled, _hour_facts(checkout_ids, rest, states) or live))


def facts_for(checkout_ids: frozenset[int], period: Period) -> Facts:
    live = LiveFacts(checkout_ids, period.start, period.end, period.tz)
    states = _states(checkout_ids)
    if any(state.time_zone != period.tz.key for state in states):
        # Another time zone than the daily rollup's: its own days where the rollup keeps
        # them (a zone members report in), else the UTC hours, which fold into any zone's.
        zoned = _zone_facts(checkout_ids, period, states)
        if zoned is not None:
            return zoned
        hourly = _hour_facts(checkout_ids, period, states)
        return Facts((hourly or live,))
    until = min((state.days_until for state in states), default=None)
    if until is None or until <= period.first_day:
        return Facts((live,))
    split = min(until, period.last_day + dt.timedelta(days=1))
    rolled = RolledFacts(checkout_ids, period.first_day, split)
    if split > period.last_day:
        return Facts((rolled,))
    return Facts(
        (rolled, LiveFacts(checkout_ids, midnight(split, period.tz), period.end, period.tz))
    )
