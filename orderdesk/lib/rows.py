"""Rows written, and read, without the ORM's compiler: for the checkout's hot path (issue 16)
and the queries every request runs.

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
from django.db.models.sql import query as sql_query


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


def select_list(model: type[models.Model], alias: str) -> str:
    """`model`'s concrete columns as `alias.column, …`: the start of a SELECT whose rows
    `read_instances` turns back into instances."""
    quote = connections[router.db_for_read(model)].ops.quote_name
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


def fields_of(model: type[models.Model], *names: str) -> list[models.Field[Any, Any]]:
    return [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names]


def read_values(
    sql: str, params: Sequence[Any], fields: Sequence[models.Field[Any, Any]]
) -> list[list[Any]]:
    """Run `sql`, whose SELECT lists the columns of `fields` (`fields_of`) in that order and
    may end with more columns, on the database the first field's model is read from (a
    replica where `lib.replica` sends it), each field's value converted as the ORM converts
    it (SQLite's booleans and aware datetimes among them): the converters `RawQuerySet`
    applies.

    For a query on every request whose ORM form costs more to build and compile than to run."""
    using = router.db_for_read(fields[0].model)
    connection = connections[using]
    compiler = connection.ops.compiler("SQLCompiler")(
        sql_query.Query(fields[0].model), connection, using
    )
    converters = compiler.get_converters([f.get_col(f.model._meta.db_table) for f in fields])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        return list(compiler.apply_converters(rows, converters))
    return [list(row) for row in rows]


def read_instances(
    sql: str, params: Sequence[Any], model_classes: Sequence[type[models.Model]]
) -> list[tuple[Any, ...]]:
    """`read_values` of a SELECT that lists each of `model_classes`' `select_list` in that
    order, then perhaps more columns: each row as one instance per model followed by the
    extra values."""
    using = router.db_for_read(model_classes[0])
    fields = [f for model in model_classes for f in model._meta.concrete_fields]
    # Each model's attribute names and where its columns sit in the row, worked out once.
    spans = []
    start = 0
    for model in model_classes:
        names = [f.attname for f in model._meta.concrete_fields]
        spans.append((model, names, start, start + len(names)))
        start += len(names)
    return [
        (
            *(model.from_db(using, names, row[first:last]) for model, names, first, last in spans),
            *row[start:],
        )
        for row in read_values(sql, params, fields)
    ]
