"""Fast inserts of generated rows: COPY on PostgreSQL, executemany elsewhere.

Rows are tuples in a declared column order with ids chosen by the caller, so related rows can
point at each other before anything is written. Columns the caller leaves out are filled from
the model's defaults, so a field added later does not break the generator.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connections, models
from django.db.models import Max
from django.utils import timezone

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    kind = type(value)
    if kind is int:
        return str(value)
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


class Table:
    def __init__(self, model: type[models.Model], columns: Sequence[str], using: str) -> None:
        self.model = model
        connection = connections[using]
        fields = {field.attname: field for field in model._meta.concrete_fields}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        self.columns = list(columns)
        self.filler: list[Any] = []
        for name, field in fields.items():
            if name in columns or field.primary_key or field.generated:
                # A primary key left out is the database's to assign, a generated column
                # (Order.search_text) the database's to compute.
                continue
            if field.has_default():
                value = field.get_default()
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = timezone.now()
            elif field.null:
                value = None
            elif field.empty_strings_allowed:
                value = ""
            else:
                raise ValueError(f"No value for {model.__name__}.{name}")
            self.columns.append(name)
            self.filler.append(value)
        self.converters: list[Convert] = []
        for name in self.columns:
            field = fields[name]
            kind = field.get_internal_type()
            if kind == "JSONField":
                self.converters.append(_json)
            elif kind == "DateTimeField" and connection.vendor != "postgresql":
                self.converters.append(connection.ops.adapt_datetimefield_value)
            else:
                self.converters.append(_identity)
        self.filler = [
            convert(value)
            for convert, value in zip(self.converters[len(columns) :], self.filler, strict=True)
        ]
        self.needs_conversion = [
            i
            for i, convert in enumerate(self.converters[: len(columns)])
            if convert is not _identity
        ]
        self.sql_columns = ", ".join(
            connection.ops.quote_name(fields[name].column or name) for name in self.columns
        )
        self.db_table = connection.ops.quote_name(model._meta.db_table)
        self.rows: list[tuple[Any, ...]] = []

    def prepared(self) -> list[tuple[Any, ...]]:
        filler = tuple(self.filler)
        if not self.needs_conversion:
            return [row + filler for row in self.rows]
        converters = self.converters
        positions = self.needs_conversion
        out = []
        for row in self.rows:
            values = list(row)
            for i in positions:
                values[i] = converters[i](values[i])
            out.append((*values, *filler))
        return out


class BulkWriter:
    """Buffers rows per model and writes them, parents first, in one transaction per flush."""

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self.connection = connections[using]
        self.tables: dict[type[models.Model], Table] = {}
        self.next_ids: dict[type[models.Model], int] = {}
        self.written: dict[type[models.Model], int] = {}

    def table(self, model: type[models.Model], columns: Sequence[str]) -> Table:
        if model not in self.tables:
            self.tables[model] = Table(model, columns, self.using)
            self.written[model] = 0
        return self.tables[model]

    def new_id(self, model: type[models.Model]) -> int:
        if model not in self.next_ids:
            current = model._default_manager.using(self.using).aggregate(top=Max("pk"))["top"]
            self.next_ids[model] = (current or 0) + 1
        value = self.next_ids[model]
        self.next_ids[model] = value + 1
        return value

    def flush(self) -> None:
        """Write buffered rows in registration order (register parents before children)."""
        with self.connection.cursor() as cursor:
            for model, table in self.tables.items():
                if not table.rows:
                    continue
                rows = table.prepared()
                if self.connection.vendor == "postgresql":
                    # Formatting the text here is several times faster than copy.write_row.
                    text = "".join(["\t".join(map(_copy_text, row)) + "\n" for row in rows])
                    sql = f"COPY {table.db_table} ({table.sql_columns}) FROM STDIN"
                    with cursor.cursor.copy(sql) as copy:
                        copy.write(text.encode())
                else:
                    # Names come from the models and are quoted, never from input.
                    marks = ", ".join(["%s"] * len(table.columns))
                    sql = f"INSERT INTO {table.db_table} ({table.sql_columns}) VALUES ({marks})"  # noqa: S608
                    cursor.executemany(sql, rows)
                self.written[model] += len(rows)
                table.rows.clear()

    def drop_indexes(self) -> list[str]:
        """Drop the plain (non-constraint) indexes of the tables; returns how to recreate them.

        PostgreSQL builds an index over loaded rows far faster than it maintains it row by row.
        """
        if self.connection.vendor != "postgresql":
            return []
        tables = [model._meta.db_table for model in self.tables]
        with self.connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                JOIN pg_class t ON t.oid = i.indrelid
                WHERE t.relname = ANY(%s) AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                """,
                [tables],
            )
            found = cursor.fetchall()
            for name, _ in found:
                cursor.execute(f"DROP INDEX {name}")
        return [definition for _, definition in found]

    def create_indexes(self, definitions: list[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for definition in definitions:
                cursor.execute(definition)

    def reset_sequences(self) -> None:
        """Point id sequences past the ids written here, so ordinary inserts keep working."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(self.tables))
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
