"""Text compared the way people type it: without case and accents ("jarvinen" is Järvinen,
"tiktok" is TikTok).

Two SQL functions do the folding, so an index can hold their results:
`od_fold(text)` (lower case, accents removed) and `od_search_text(email, first, last)`, the
free-text search's haystack ("first last email", folded). PostgreSQL's are written in SQL
over the `unaccent` extension by migration `orders.0005`; SQLite (development, tests) gets
`fold()` below registered on every connection. The two agree on Latin letters with accents;
letters unaccent maps without a combining mark (ø, ß, æ) fold only on PostgreSQL.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Func, TextField


def fold(text: str | None) -> str | None:
    """`text` in lower case without accents (SQLite's `od_fold`)."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search_text(email: str | None, first_name: str | None, last_name: str | None) -> str | None:
    """The free-text search's haystack of an order (SQLite's `od_search_text`)."""
    if email is None or first_name is None or last_name is None:
        return None
    return fold(f"{first_name} {last_name} {email}")


class Fold(Func):
    """`od_fold(expression)`: compare with another folded value."""

    function = "od_fold"
    arity = 1
    output_field = TextField()


class SearchText(Func):
    """`od_search_text(customer_email, first_name, last_name)` of an order; PostgreSQL's
    trigram index `order_search_trgm` is built on exactly this expression."""

    function = "od_search_text"
    arity = 3
    output_field = TextField()

    def __init__(self, **extra: Any) -> None:
        super().__init__("customer_email", "first_name", "last_name", **extra)


def register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: SQLite learns the two functions PostgreSQL has in SQL."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("od_fold", 1, fold, deterministic=True)
    raw.create_function("od_search_text", 3, search_text, deterministic=True)
