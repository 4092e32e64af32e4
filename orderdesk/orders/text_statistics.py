"""How common a free-text search is, estimated as PostgreSQL's planner estimates a LIKE.

The orders table's free-text search reads the newest orders first when its words are common
and asks the trigram index at once when they are rare (`workflows.table`). Which of the two a
search is, the column's statistics tell before any order is read: ANALYZE keeps the most
common search texts with their shares and a histogram of the rest (1,001 values sampled from
the table at the statistics target that `orders.0013` sets), and the share of those values
holding every word is the share of orders that do. PostgreSQL computes exactly this for
`search_text LIKE '%word%'` (`patternsel`: its most common values, then the histogram); the
planner's estimate is not reachable without planning a statement, so the same arithmetic is
done here, over the statistics read once per process and kept for a few minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections

from orderdesk.orders.folding import fold
from orderdesk.orders.models import Order

# Autovacuum re-analyses a busy table every few minutes at most; a share a little out of date
# only chooses a slower way to the same rows.
REFRESH_SECONDS = 600
# Fewer sampled values than this say too little (PostgreSQL's own floor for the histogram).
MIN_HISTOGRAM = 100


@dataclass(frozen=True)
class _Statistics:
    common: tuple[tuple[str, float], ...]  # most common values and their shares
    histogram: tuple[str, ...]
    others: float  # the share of orders neither null nor among the most common values


# Per database alias: when the statistics were read, and what they were.
_cache: dict[str, tuple[float, _Statistics | None]] = {}
_lock = threading.Lock()


def text_share(words: Sequence[str], *, using: str) -> float | None:
    """The estimated share (0-1) of orders whose search text holds every word, folded; None
    where the database keeps no statistics of it (SQLite, a table never analysed)."""
    statistics = _statistics(using)
    if statistics is None:
        return None
    common, histogram = statistics.common, statistics.histogram
    for word in words:
        folded = fold(word) or ""
        # Narrowed word by word: a list comprehension keeps it ~30 µs per word.
        common = tuple(pair for pair in common if folded in pair[0])
        histogram = tuple(value for value in histogram if folded in value)
    share = sum(frequency for _, frequency in common)
    return share + statistics.others * len(histogram) / len(statistics.histogram)


def forget() -> None:
    """Read the statistics again at the next search (tests, after ANALYZE)."""
    with _lock:
        _cache.clear()


def _statistics(using: str) -> _Statistics | None:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(using)
    if cached is not None and now - cached[0] < REFRESH_SECONDS:
        return cached[1]
    statistics = _read(using)
    with _lock:
        _cache[using] = (now, statistics)
    return statistics


def _read(using: str) -> _Statistics | None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # anyarray columns: through text to text[] (the documented way to read them).
        cursor.execute(
            "SELECT null_frac, most_common_vals::text::text[], most_common_freqs,"
            " histogram_bounds::text::text[] FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
            [Order._meta.db_table, "search_text"],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    null_share, values, frequencies, histogram = row
    if not histogram or len(histogram) < MIN_HISTOGRAM:
        return None
    common = tuple(zip(values or (), frequencies or (), strict=True))
    others = max(0.0, 1.0 - null_share - sum(frequency for _, frequency in common))
    return _Statistics(common=common, histogram=tuple(histogram), others=others)
