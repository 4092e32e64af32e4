"""Rows written without model instances, for the checkout's hot path (issue 16).

`Model.save()` and `bulk_create()` build an instance per row and compile the INSERT through
the ORM each time: for the few small rows an open writes (its line, tags and event) that cost
~0.5 ms of CPU per statement, more than the database spends on them. `insert_rows` writes
plain values in one statement, each prepared by its field as the ORM would prepare it (JSON,
times, decimals), so what lands in the table is the same. The caller names every column the
table needs a value for; a missing one fails at once (NOT NULL) in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from django.db import connections, models, router
from django.db.models.expressions import RawSQL


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT `rows` of `model`, each a mapping of field name to value, all with the same
    names (`order` or `order_id` alike), in one statement; the `returning` columns of each
    row come back (PostgreSQL and SQLite 3.35+ alike). A value may be `RawSQL`, evaluated by
    the database in the statement (an order's number from its sequence)."""
    if not rows:
        return []
    meta = model._meta
    fields = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in rows[0]]
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    values: list[str] = []
    params: list[Any] = []
    for row in rows:
        marks = []
        for name, field in zip(row, fields, strict=True):
            value = row[name]
            if isinstance(value, RawSQL):
                marks.append(f"({value.sql})")
                params.extend(value.params)
            else:
                marks.append("%s")
                params.append(field.get_db_prep_save(value, connection))
        values.append(f"({', '.join(marks)})")
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join(values)}"  # noqa: S608
    if returning:
        sql += " RETURNING " + ", ".join(quote(name) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []
