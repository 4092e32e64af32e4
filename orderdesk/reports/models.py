"""The daily rollup behind the reports: per checkout and local day, the sums a report adds up.

A report over a year would otherwise group hundreds of thousands of orders on every request.
`SalesDay` keeps, for each finished day in the organization's time zone, exactly the rows the
report queries would have produced for that day (see reports/facts.py), so a report reads a
few thousand small rows plus the live tables for the last, still-changing days. `SalesHour`
keeps the same rows per UTC hour, which fold into the days of any other time zone, and
`SalesHourPart` those of each hour's first quarter and half hour, for the zones whose
midnight cuts an hour.
"""

from __future__ import annotations

from django.db import models

from orderdesk.organizations.models import Checkout


class Grain(models.TextChoices):
    """Which keys a `SalesDay` row is grouped by; the other key columns stay empty."""

    CHANNEL = "channel", "Source, checkout link and offer"
    PLACE = "place", "Country and region"
    VISITOR = "visitor", "Device and analytics consent"
    LINE = "line", "Order lines by product, kind, add-on, offer and source"
    METHOD = "method", "Settled payments by provider and method"
    REFUND = "refund", "Counted refunds"
    VAT = "vat", "Order lines by VAT rate"
    REFUND_VAT = "refund_vat", "Lines of counted refunds by VAT rate"


class Sums(models.Model):
    """One group's sums: the key columns a grain groups by and what it adds up.

    `orders` counts what the grain counts: paid orders, order lines, settled payment attempts,
    refunds or refund lines; `opened` counts checkouts opened (CHANNEL and VISITOR only).
    Key columns are named as on Order so the same grouping code reads both.
    """

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    grain = models.CharField(max_length=12, choices=Grain.choices)
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=50, blank=True)
    # Plain ids, not foreign keys: a deleted link or product keeps its history here, as the
    # orders keep theirs (their foreign keys are SET_NULL or PROTECT).
    link_id = models.BigIntegerField(null=True)
    offer_id = models.BigIntegerField(null=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    device_type = models.CharField(max_length=10, blank=True)
    analytics_consent = models.BooleanField(null=True)
    product_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=12, blank=True)
    add_on_id = models.BigIntegerField(null=True)
    provider = models.CharField(max_length=10, blank=True)
    method = models.CharField(max_length=30, blank=True)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    opened = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    amount_minor = models.BigIntegerField(default=0)
    # The VAT in `amount_minor` (VAT and REFUND_VAT only).
    vat_minor = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class SalesDay(Sums):
    """One group of one day in the organization's time zone: paid orders (on their payment
    day), opened checkouts (on their creation day) or refunds (on their booking day), never
    mixing currencies."""

    day = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["checkout", "grain", "day"], name="salesday_checkout_grain_day")
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.day} {self.currency}"


class SalesHour(Sums):
    """The same groups by UTC hour (`hour` is its first instant), for reports in any other
    time zone: a whole hour lies inside one local day of every zone whose midnight falls on
    the hour; where a midnight cuts an hour, `SalesHourPart` splits it."""

    hour = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["checkout", "grain", "hour"], name="saleshour_checkout_grain_hour"
            ),
            # Converting reads the display currency's rows by the chart's buckets and the
            # other currencies' by day: with the currency before the hour, each side is index
            # ranges of only the rows it keeps (see facts.RolledHours).
            models.Index(
                fields=["checkout", "grain", "currency", "hour"],
                name="saleshour_grain_currency_hour",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.hour:%Y-%m-%d %H}:00 UTC {self.currency}"


# Where a local midnight can fall inside a UTC hour, in minutes past it: every IANA zone's
# midnights from 2020 to 2030 fall on the hour or at :15 (Asia/Kathmandu +5:45,
# Pacific/Chatham, Australia/Eucla) or :30 (Asia/Kolkata +5:30, Australia/Lord_Howe +10:30,
# America/St_Johns); reports/tests/test_hourly_rollup.py checks it against the zone data.
PART_MINUTES = (15, 30)


class SalesHourPart(Sums):
    """The same groups for the first `minutes` (one of `PART_MINUTES`) of a UTC hour: where
    a local midnight cuts the hour, the part before it is this row and the part after it the
    hour's `SalesHour` row minus this one, so a report in any zone reads no orders for it."""

    hour = models.DateTimeField()
    minutes = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["checkout", "grain", "hour"], name="salespart_checkout_grain_hour")
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.hour:%Y-%m-%d %H}:00+{self.minutes} min UTC {self.currency}"


class ZoneDay(Sums):
    """The same groups by day in another time zone than the organization's: one a member
    reports in (their own time zone) or that a report asked for lately (`ZoneRollup`).
    Built from the hourly rollup, so a year in that zone reads a few thousand rows, as in
    the organization's own zone, instead of every hour of the year."""

    time_zone = models.CharField(max_length=64)
    day = models.DateField()

    class Meta:
        indexes = [
            models.Index(
                fields=["checkout", "time_zone", "grain", "day"], name="zoneday_zone_grain_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.day} {self.time_zone} {self.currency}"


class ZoneRollup(models.Model):
    """How far a checkout's days in `time_zone` reach in `ZoneDay`: every day before
    `complete_until` (None: none yet). `asked_at` is when a report last found the zone
    missing and asked for it; a zone no member has expires a while after that."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    time_zone = models.CharField(max_length=64)
    complete_until = models.DateField(null=True)
    asked_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "time_zone"], name="zonerollup_unique")
        ]

    def __str__(self) -> str:
        return f"{self.checkout_id} in {self.time_zone}: before {self.complete_until}"


class RollupState(models.Model):
    """How far a checkout's rollup reaches: every day before `complete_until` is in `SalesDay`,
    with days as seen in `time_zone` (the organization's when it was built)."""

    checkout = models.OneToOneField(
        Checkout, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    time_zone = models.CharField(max_length=64)
    complete_until = models.DateField()
    # Every UTC hour before this instant is in `SalesHour`; None until the first hours are.
    hours_until = models.DateTimeField(null=True)
    # Every UTC hour before this instant has its parts in `SalesHourPart`; None until built.
    parts_until = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.checkout_id}: before {self.complete_until} in {self.time_zone}"
