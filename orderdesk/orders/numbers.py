"""Order numbers: unique and increasing per organization, handed out without a shared lock.

On PostgreSQL each organization has its own sequence, `order_number_<organization id>`,
created with the organization (a `post_save` receiver, `orders.apps`) and for organizations
that existed before by migration `orders` 0008. The order's INSERT takes its number with
`nextval(...)` in the statement itself, so opening an order costs no extra round trip and no
row lock: until issue 16 every open locked its organization's row to count, and all the
checkouts of one organization queued behind it.

A sequence never hands a number out twice, but a number taken by an open that then rolls back
is not given again: staff see a gap (#1041, #1043). Numbers increase in the order the opens
took them; a slower open may commit after a faster, later one, so for a moment #1043 can be
listed before #1042 appears. After a crash of the database server a sequence may also skip
ahead by up to 32 numbers (PostgreSQL logs them ahead). No order shares a number with another,
which the unique constraint `unique_order_number` also guards.

SQLite (the demo, development and tests) has no sequences, but lets one transaction write at
a time (`transaction_mode` IMMEDIATE in settings): the INSERT reads the organization's highest
number plus one itself, so there numbers have no gaps.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import IntegerField, Max
from django.db.models.expressions import RawSQL

from orderdesk.orders.models import Order


def sequence_name(organization_id: int) -> str:
    return f"order_number_{int(organization_id)}"


def next_number(organization_id: int) -> RawSQL:
    """An expression for the organization's next order number, evaluated in the INSERT."""
    if connection.vendor == "postgresql":
        return RawSQL("nextval(%s)", [sequence_name(organization_id)], IntegerField())
    return RawSQL(
        "SELECT coalesce(max(number), 0) + 1 FROM orders_order WHERE organization_id = %s",
        [int(organization_id)],
        IntegerField(),
    )


def create_sequence(organization_id: int) -> None:
    """Create the organization's sequence (if missing), continuing after its highest number.

    Never moves a sequence back: an existing one keeps its place unless orders numbered past
    it exist (numbers written by the generator or before the sequence existed).
    """
    if connection.vendor != "postgresql":
        return
    name = sequence_name(organization_id)  # built from an integer: safe to format in
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} AS bigint MINVALUE 1")
        cursor.execute(
            "SELECT setval(%s, highest) FROM (SELECT max(number) AS highest FROM orders_order "  # noqa: S608
            f"WHERE organization_id = %s) AS o WHERE highest >= (SELECT last_value FROM {name})",
            [name, organization_id],
        )


def on_organization_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """`post_save` of an organization: a new one gets its sequence in the same transaction."""
    if created:
        create_sequence(instance.pk)


def drop_sequence(organization_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence_name(organization_id)}")


def is_missing_sequence(error: Exception) -> bool:
    """Whether a failed INSERT was refused because the organization has no sequence yet
    (one created by raw SQL or `bulk_create`, which send no `post_save`)."""
    cause = error.__cause__
    return (
        connection.vendor == "postgresql"
        and getattr(cause, "sqlstate", None) == "42P01"  # undefined_table
        and "order_number_" in str(cause)
    )


def reserve_numbers(organization_id: int, count: int) -> int:
    """Take `count` consecutive numbers for a bulk load (the generator); returns the first.

    On PostgreSQL the block is taken from the sequence in one statement; an open that takes a
    number between its two steps would collide, which the unique constraint refuses, so run
    bulk loads while the organization's checkouts are quiet.
    """
    if connection.vendor != "postgresql":
        highest = Order.objects.filter(organization_id=organization_id).aggregate(
            highest=Max("number")
        )["highest"]
        return int(highest or 0) + 1
    create_sequence(organization_id)
    name = sequence_name(organization_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [name, name, count])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]) - count + 1
