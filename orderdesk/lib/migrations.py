"""Migration operations that a live million-order table survives, on PostgreSQL and SQLite alike.

Django's `AddIndexConcurrently` / `RemoveIndexConcurrently` (django.contrib.postgres) build and
drop an index without blocking writes, but call the PostgreSQL schema editor's `concurrently`
argument, which SQLite's lacks. These run the same operation there as a plain `AddIndex` /
`RemoveIndex`: SQLite (development, the demo, tests) has no concurrent writers to spare. The
migration using them must say `atomic = False`; `lint/migration_safety.py` fails CI for an
index built any other way on a table that exists already (docs/architecture.md, *Migrations*).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres import operations as postgres
from django.db import migrations


class _PlainWithoutPostgres:
    """Runs the PostgreSQL operation on PostgreSQL and `plain` (its blocking twin) elsewhere."""

    plain: type[migrations.AddIndex] | type[migrations.RemoveIndex]

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)  # type: ignore[arg-type]

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)  # type: ignore[arg-type]


class AddIndexConcurrently(_PlainWithoutPostgres, postgres.AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, a plain CREATE INDEX elsewhere."""

    plain = migrations.AddIndex


class RemoveIndexConcurrently(_PlainWithoutPostgres, postgres.RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL, a plain DROP INDEX elsewhere."""

    plain = migrations.RemoveIndex
