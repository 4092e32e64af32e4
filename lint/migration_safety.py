"""Fail a migration that would lock or rewrite a big table on a live PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME python lint/migration_safety.py

It migrates a scratch database (`NAME_migration_check`, created and dropped here) from
nothing, records every SQL statement each of Orderdesk's migrations sends — what the schema
editor writes, `RunSQL`, and what `RunPython` executes, which `sqlmigrate` cannot show — and
checks the statements of each migration against the rules below. A table the same migration
created is new and empty, so it is exempt; every other table may hold a million orders.
Migrations that ran on live databases before this check existed are history, listed in
`EXEMPT` with why; a new one that must break a rule (a table known to stay small) goes there
too, with its reason, in review. Third-party apps' migrations are not ours to fix: only
`orderdesk.*` apps are checked. docs/architecture.md (*Migrations*) says how to write safe ones.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Migrations that ran before this check, with what they did under lock. They stay as they are:
# changing a migration that ran changes nothing on the databases that ran it.
EXEMPT: dict[tuple[str, str], str] = {
    # The initial schema: 0001 created the tables, 0002 their foreign keys, indexes and
    # constraints, in the same release, on empty tables.
    ("actions", "0002_initial"): "initial schema, on tables 0001 created empty",
    ("catalog", "0002_initial"): "initial schema, on tables 0001 created empty",
    ("orders", "0002_initial"): "initial schema, on tables 0001 created empty",
    # What ran on live databases since, blocking writes while it ran:
    ("actions", "0003_one_active_run_per_snapshot"): (
        "a unique partial index on actions_actionrun without CONCURRENTLY"
    ),
    ("organizations", "0004_user_has_authenticator"): (
        "a one-statement backfill of organizations_user (staff accounts: a small table)"
    ),
    ("orders", "0003_postgres_search_indexes"): (
        "the trigram indexes on orders_order without CONCURRENTLY: the last-name one takes "
        "2.4 s on a million orders, every checkout's writes blocked meanwhile"
    ),
    ("orders", "0004_attention_created_index"): "a partial index on orders_order, not concurrent",
    ("orders", "0005_folded_search"): (
        "rewrote orders_order under an ACCESS EXCLUSIVE lock to add the stored generated "
        "column search_text, then rebuilt the search indexes without CONCURRENTLY"
    ),
    ("orders", "0006_ordertag_folded_column"): (
        "rewrote orders_ordertag under an ACCESS EXCLUSIVE lock to add the stored generated "
        "column folded (seconds for 1.5 million tags, tagging blocked meanwhile), then indexed "
        "it without CONCURRENTLY"
    ),
    ("orders", "0007_attention_reasons"): (
        "the Requires attention partial indexes on orders_order, built and dropped without "
        "CONCURRENTLY"
    ),
    ("payments", "0003_refund_counted_settled_index"): (
        "a partial index on payments_refund, not concurrent"
    ),
    ("payments", "0005_attempt_charge_reference"): (
        "a partial index on payments_paymentattempt, not concurrent"
    ),
    ("payments", "0010_refund_settlement"): (
        "backfilled and constrained payments_refund in one transaction (55 k refunds in the "
        "million-order data set)"
    ),
    ("payments", "0011_notification_per_checkout"): (
        "backfilled payments_providernotification, then indexed and constrained it without "
        "CONCURRENTLY"
    ),
    ("payments", "0012_refund_reversal_and_disputes"): (
        "a partial index on payments_refund, not concurrent"
    ),
    ("reports", "0002_book_recorded_refunds"): "a backfill UPDATE of payments_refund",
    ("reports", "0003_vat_per_rate"): (
        "emptied the rollup (rebuilt by the worker) and widened reports_salesday.grain"
    ),
}

# Functions whose value differs per row: a column added with one as its default is written
# into every existing row, i.e. the table is rewritten.
_VOLATILE_DEFAULT = re.compile(
    r"\bDEFAULT\b[^,]*\b(GEN_RANDOM_UUID|UUIDV[47]|UUID_GENERATE_V\w*|RANDOM|CLOCK_TIMESTAMP|"
    r"TIMEOFDAY|NEXTVAL)\s*\(",
)
_NAME = r'(?:"[^"]+"|[\w.]+)'


def _unquote(name: str) -> str:
    return name.strip('"').split(".")[-1].strip('"').lower()


def _table_of(statement: str) -> str | None:
    upper = statement.upper()
    if upper.startswith("ALTER TABLE"):
        match = re.match(rf"ALTER TABLE\s+(?:IF EXISTS\s+)?(?:ONLY\s+)?({_NAME})", statement, re.I)
    elif upper.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
        match = re.search(rf"\sON\s+(?:ONLY\s+)?({_NAME})", statement, re.I)
    elif upper.startswith(("UPDATE", "LOCK TABLE", "CLUSTER", "VACUUM")):
        match = re.match(
            rf"(?:UPDATE|LOCK TABLE|CLUSTER|VACUUM\s+FULL)\s+(?:ONLY\s+)?({_NAME})", statement, re.I
        )
    elif upper.startswith("DELETE FROM"):
        match = re.match(rf"DELETE FROM\s+(?:ONLY\s+)?({_NAME})", statement, re.I)
    else:
        return None
    return _unquote(match.group(1)) if match else None


def problems_of(statement: str, new_tables: set[str]) -> list[str]:
    """What `statement` would do to a big table under lock (nothing for a new table)."""
    sql = " ".join(statement.split())
    upper = sql.upper()
    table = _table_of(sql)
    if table is not None and table in new_tables:
        return []
    where = f" on {table}" if table else ""
    found: list[str] = []
    if re.match(r"CREATE (UNIQUE )?INDEX\b", upper) and " CONCURRENTLY " not in f" {upper} ":
        found.append(
            f"CREATE INDEX without CONCURRENTLY blocks writes{where} while the index builds: "
            "use orderdesk.lib.migrations.AddIndexConcurrently in a migration with "
            "atomic = False"
        )
    if upper.startswith("DROP INDEX") and "CONCURRENTLY" not in upper:
        found.append(
            "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table and "
            "queues every query behind it: use orderdesk.lib.migrations.RemoveIndexConcurrently"
        )
    if upper.startswith("REINDEX") and "CONCURRENTLY" not in upper:
        found.append("REINDEX without CONCURRENTLY blocks writes: use REINDEX CONCURRENTLY")
    if upper.startswith(("VACUUM FULL", "CLUSTER")):
        found.append(f"{upper.split()[0]} rewrites{where} under an ACCESS EXCLUSIVE lock")
    if upper.startswith("LOCK TABLE"):
        found.append(f"LOCK TABLE{where} blocks its readers or writers for the transaction")
    if upper.startswith(("UPDATE ", "DELETE FROM ")):
        found.append(
            f"{upper.split()[0]}{where} in an atomic migration writes every matching row in "
            "one transaction, holding their locks: backfill in batches, each committed on its "
            "own (atomic = False, or a management command)"
        )
    if upper.startswith("ALTER TABLE"):
        found.extend(_alter_table_problems(upper, where))
    return found


def _alter_table_problems(upper: str, where: str) -> list[str]:
    found = []
    adds_column = re.search(r"\bADD (COLUMN\b|\"|\w+ )", upper) and "ADD CONSTRAINT" not in upper
    if adds_column and re.search(r"\bGENERATED ALWAYS AS \(.*\) STORED\b", upper):
        found.append(
            f"adding a stored generated column rewrites{where} under an ACCESS EXCLUSIVE lock: "
            "add a plain column, fill it in batches and keep it current in the code or a trigger"
        )
    if adds_column and re.search(r"\b(SMALLSERIAL|BIGSERIAL|SERIAL)\b|\bAS IDENTITY\b", upper):
        found.append(f"adding a serial or identity column rewrites{where}")
    if adds_column and _VOLATILE_DEFAULT.search(upper):
        found.append(
            f"adding a column whose default differs per row rewrites{where}: add it without "
            "a default (or with a constant one) and backfill in batches"
        )
    if adds_column and re.search(r"\b(UNIQUE|PRIMARY KEY)\b", upper):
        found.append(
            f"a new UNIQUE or PRIMARY KEY column builds its index{where} under an ACCESS "
            "EXCLUSIVE lock: add the column, then a unique index concurrently"
        )
    if re.search(r"\bALTER COLUMN \S+ (SET DATA )?TYPE\b", upper):
        found.append(
            f"changing a column's type rewrites{where} under an ACCESS EXCLUSIVE lock (unless "
            "the new type is binary-compatible, e.g. a longer varchar or text: then list the "
            "migration in EXEMPT with that reason)"
        )
    if re.search(r"\bSET NOT NULL\b", upper):
        found.append(
            f"SET NOT NULL scans{where} under an ACCESS EXCLUSIVE lock: first add "
            "CHECK (column IS NOT NULL) NOT VALID and VALIDATE it in the same migration"
        )
    if (
        re.search(r"\bADD CONSTRAINT\b.*\b(CHECK|FOREIGN KEY)\b", upper)
        and "NOT VALID" not in upper
    ):
        found.append(
            f"adding a CHECK or FOREIGN KEY constraint validates every row{where} under lock: "
            "add it NOT VALID (django.contrib.postgres's AddConstraintNotValid), then "
            "ValidateConstraint in a later migration"
        )
    if (
        re.search(r"\bADD CONSTRAINT\b.*\b(UNIQUE|PRIMARY KEY|EXCLUDE)\b", upper)
        and "USING INDEX" not in upper
    ):
        found.append(
            f"a UNIQUE, PRIMARY KEY or EXCLUDE constraint builds its index{where} under an "
            "ACCESS EXCLUSIVE lock: build a unique index concurrently, then "
            "ADD CONSTRAINT … USING INDEX"
        )
    if re.search(r"\bSET (TABLESPACE|LOGGED|UNLOGGED)\b", upper):
        found.append(f"SET TABLESPACE / LOGGED / UNLOGGED rewrites{where}")
    return found


def split_statements(sql: str) -> list[str]:
    import sqlparse

    return [s.strip().rstrip(";").strip() for s in sqlparse.split(sql) if s.strip()]


def strip_comments(statement: str) -> str:
    lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
    return "\n".join(lines).strip()


@dataclass
class MigrationSql:
    app: str
    name: str
    statements: list[str] = field(default_factory=list)
    # A migration with `atomic = False` commits each statement on its own, so a backfill in
    # batches there holds no row's lock for long.
    atomic: bool = True

    def problems(self) -> list[tuple[str, str]]:
        new_tables: set[str] = set()
        not_null_checks: dict[str, tuple[str, str]] = {}
        validated: set[tuple[str, str]] = set()
        found: list[tuple[str, str]] = []
        for raw in self.statements:
            statement = strip_comments(raw)
            sql = " ".join(statement.split())
            created = re.match(rf"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?({_NAME})", sql, re.I)
            if created:
                new_tables.add(_unquote(created.group(1)))
            table = _table_of(sql) or ""
            check = re.search(
                rf"ADD CONSTRAINT ({_NAME}) CHECK \(+\s*({_NAME}) IS NOT NULL\s*\)+ NOT VALID",
                sql,
                re.I,
            )
            if check:
                not_null_checks[_unquote(check.group(1))] = (table, _unquote(check.group(2)))
            validate = re.search(rf"VALIDATE CONSTRAINT ({_NAME})", sql, re.I)
            if validate and _unquote(validate.group(1)) in not_null_checks:
                validated.add(not_null_checks[_unquote(validate.group(1))])
            for problem in problems_of(statement, new_tables):
                column = re.search(rf"ALTER COLUMN ({_NAME}) SET NOT NULL", sql, re.I)
                # PostgreSQL 12+ skips the scan when a validated check proves it.
                if (
                    problem.startswith("SET NOT NULL")
                    and column
                    and (table, _unquote(column.group(1))) in validated
                ):
                    continue
                if problem.startswith(("UPDATE", "DELETE")) and not self.atomic:
                    continue
                found.append((statement, problem))
        return found


_IGNORED = re.compile(
    r"^\s*(SELECT|SAVEPOINT|RELEASE|ROLLBACK|SET CONSTRAINTS|SHOW|BEGIN|COMMIT)\b", re.I
)


@contextmanager
def recording(connection: Any, current: Callable[[], MigrationSql | None]) -> Iterator[None]:
    """Every statement the connection runs, added to the migration being applied."""

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        migration = current()
        if migration is not None and isinstance(sql, str):
            for statement in split_statements(sql):
                if not _IGNORED.match(statement) and "django_migrations" not in statement:
                    migration.statements.append(statement)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield


def collect(connection: Any) -> list[MigrationSql]:
    """Migrate the connection's (empty) database, recording each migration's statements."""
    from django.db.migrations.executor import MigrationExecutor

    applied: list[MigrationSql] = []
    state: dict[str, MigrationSql | None] = {"current": None}

    def progress(action: str, migration: Any = None, fake: bool = False) -> None:
        if action == "apply_start":
            current = MigrationSql(
                migration.app_label, migration.name, atomic=getattr(migration, "atomic", True)
            )
            state["current"] = current
            applied.append(current)
        elif action == "apply_success":
            state["current"] = None

    executor = MigrationExecutor(connection, progress)  # type: ignore[arg-type]
    targets = executor.loader.graph.leaf_nodes()
    with recording(connection, lambda: state["current"]):
        executor.migrate(targets)
    return applied


def ours(migration: MigrationSql) -> bool:
    from django.apps import apps

    return apps.get_app_config(migration.app).name.startswith("orderdesk.")


def report(migrations: Sequence[MigrationSql], exempt: dict[tuple[str, str], str]) -> list[str]:
    """The lines to print for each unsafe migration not exempt (empty when all are safe)."""
    lines = []
    for migration in migrations:
        problems = migration.problems()
        if not problems or (migration.app, migration.name) in exempt:
            continue
        lines.append(f"{migration.app}.{migration.name}:")
        for statement, problem in problems:
            shown = statement if len(statement) < 200 else statement[:197] + "..."
            lines.append(f"  {problem}\n      {shown}")
    return lines


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "lint/migration_safety.py: set DATABASE_URL to a PostgreSQL database", file=sys.stderr
        )
        return 2
    import dj_database_url
    import psycopg
    from psycopg import sql

    server = dj_database_url.parse(url)
    scratch = f"{server['NAME']}_migration_check"
    base = url.rsplit("/", 1)[0]
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    # Every app's migrations, the sandboxes' included; a new database each run.
    os.environ["DATABASE_URL"] = f"{base}/{scratch}"
    os.environ["SANDBOXES_ENABLED"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")
    os.environ.setdefault("SECRET_KEY", "migration-check-only")
    try:
        import django

        django.setup()
        from django.db import connection

        migrations = [m for m in collect(connection) if ours(m)]
        connection.close()
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(drop)
    stale = [
        f"{app}.{name}"
        for app, name in EXEMPT
        if not any(m.app == app and m.name == name and m.problems() for m in migrations)
    ]
    if stale:
        print("Exempt but safe (the entry can go): " + ", ".join(stale))
    lines = report(migrations, EXEMPT)
    if lines:
        print("Migrations that would lock or rewrite a table a live database may hold big:")
        print("\n".join(lines))
        print("See docs/architecture.md, Migrations. A deliberate exception goes in EXEMPT.")
        return 1
    print(f"{len(migrations)} migrations checked: none locks or rewrites a big table.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
