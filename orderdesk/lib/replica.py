"""Reads that may come from a PostgreSQL read replica (`DATABASE_REPLICA_URL`).

Only what is named reads the replica: a read model enters `replica_reads()` (report tabs, the
orders table, its count, the CSV exports), and the router sends its ORM reads to the
`replica` database while

- no replica is configured: everything is the primary's (`default`), as in development;
- the primary's connection is inside a transaction: what runs in one reads what it writes;
- the request is pinned to the primary (`pinned_to_primary`), which `web.middleware` does for
  a few seconds after a member's write, so the table they return to shows their change
  although the replica may lag.

Writes always go to the primary; migrations run there alone (the replica copies them).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"


_replica_wanted: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replica_wanted", default=False
)
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar("pinned_to_primary", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """The ORM reads inside may come from the replica (see the module's rules)."""
    token = _replica_wanted.set(True)
    try:
        yield
    finally:
        _replica_wanted.reset(token)


def reads_replica[**P, R](read_model: Callable[P, R]) -> Callable[P, R]:
    """Run `read_model` inside `replica_reads()`."""

    @functools.wraps(read_model)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with replica_reads():
            return read_model(*args, **kwargs)

    return wrapper


@contextmanager
def pinned_to_primary(pinned: bool = True) -> Iterator[None]:
    """Every read inside comes from the primary, `replica_reads()` or not."""
    token = _pinned.set(pinned)
    try:
        yield
    finally:
        _pinned.reset(token)


def read_alias() -> str:
    """The database the ORM reads from here and now."""
    if (
        _replica_wanted.get()
        and not _pinned.get()
        and replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


def in_this_context(pieces: Iterator[str]) -> Iterator[str]:
    """`pieces` run in a copy of the current context, wherever they are iterated.

    A streamed response is written after its view returned (and after the middleware that
    pinned the request); its generator still reads where the view would have. The copy is
    taken here, when the view calls this, not at the first piece.
    """
    context = contextvars.copy_context()

    def run() -> Iterator[str]:
        try:
            while True:
                try:
                    piece = context.run(next, pieces)
                except StopIteration:
                    return
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                context.run(close)

    return run()


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when a replica is configured."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the primary's rows: an order read there is the same order.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
