"""Why orders require attention, grouped by cause (issue 15): one outage is one group.

A group is one reason (`AttentionReason`); for unfinished actions, one action configuration
and one error with its ids, numbers, timestamps, UUIDs and email addresses taken out, so the
hundred orders a Kajabi outage failed are one line, not a hundred.

The queries start from the orders requiring attention, which PostgreSQL reads from the
partial indexes over every reason (`orders.models.attention_index_q`), and reach their action
snapshots by order; nothing scans all orders or all runs. Messages are normalised in Python:
the rows are the few thousand orders in attention, and SQLite has no `regexp_replace`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.db.models import Max, Min

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionConfig
from orderdesk.orders.models import AttentionReason, OrderQuerySet
from orderdesk.payments.models import Dispute, Refund

# Unfinished snapshots: the ones that keep an order in attention for its actions.
UNFINISHED = (SnapshotStatus.PENDING, SnapshotStatus.RUNNING, SnapshotStatus.FAILED)

_PLACEHOLDER = "…"
# One pass over the message; at each position the first alternative that matches wins, so the
# most specific come first (a UUID or a timestamp would otherwise be cut into numbers).
_VARIABLE = re.compile(
    "|".join(
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            r"\b\d{1,2}:\d{2}(?::\d{2})?\b",
            # Ids and tokens with a digit in them (`pi_3Nxy…`, `a1b2c3d4e5`), whole words only.
            r"\b(?=[\w-]*\d)[A-Za-z0-9_-]{8,}\b",
            r"#?\d+(?:[.,]\d+)*",
        )
    ),
    re.IGNORECASE,
)
# Apart, and only where there is an "@": tried at every position of every word, it cost more
# than the rest together.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# What is left of a mixed id ("0f81c2e" → "…f…c…e") is one placeholder too.
_AROUND_PLACEHOLDER = re.compile(r"[\w…-]*…[\w…-]*")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def normalize_error(message: str) -> str:
    """The message with what varies from one order to the next replaced by "…".

    Cached: an outage repeats a few messages thousands of times.
    """
    text = message.strip()
    if "@" in text:
        text = _EMAIL.sub(_PLACEHOLDER, text)
    if any(c.isdigit() for c in text):
        text = _AROUND_PLACEHOLDER.sub(_PLACEHOLDER, _VARIABLE.sub(_PLACEHOLDER, text))
    return _SPACES.sub(" ", text)


@lru_cache(maxsize=4096)
def _digest(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()[:12]


def action_cause(config_id: int | None, error: str) -> str:
    """The key of an action group: its configuration and its normalised error."""
    return f"actions:{config_id or 0}:{_digest(normalize_error(error))}"


@dataclass
class FailureGroup:
    """One cause and the orders it keeps in Requires attention."""

    key: str
    reason: AttentionReason
    count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    example_number: int
    # For actions: the configuration's name, the normalised error and an example of it.
    action: str = ""
    error: str = ""
    example_error: str = ""
    config_id: int | None = None
    # Orders in the group with a failed action (Re-run all re-runs those; pending ones are
    # still being retried by the worker).
    failed: int = 0
    # The versions of the configuration the group's snapshots were taken with, and the
    # configuration's own now (None: deleted); "with the latest configuration" replaces them.
    snapshot_versions: list[int] = field(default_factory=list)
    config_version: int | None = None
    order_ids: list[int] = field(default_factory=list)

    @property
    def config_differs(self) -> bool:
        return self.config_version is not None and any(
            v != self.config_version for v in self.snapshot_versions
        )

    @property
    def label(self) -> str:
        if self.reason == AttentionReason.ACTIONS:
            return f"{self.action}: {self.error}" if self.error else self.action
        return str(self.reason.label)


@dataclass
class _Acc:
    order_ids: set[int] = field(default_factory=set)
    failed_ids: set[int] = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    example: tuple[dt.datetime, int] | None = None
    example_error: str = ""
    action: str = ""
    versions: set[int] = field(default_factory=set)


def _earlier(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None or (b is not None and b < a) else a


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None or (b is not None and b > a) else a


def action_groups(orders: OrderQuerySet, now: dt.datetime) -> list[FailureGroup]:
    """The groups of orders in attention for their actions, biggest first."""
    attention = orders.requiring_attention(now, reason=AttentionReason.ACTIONS)
    rows = (
        ActionSnapshot.objects.filter(order__in=attention.values("pk"), status__in=UNFINISHED)
        .values_list(
            "order_id",
            "order__number",
            "config_id",
            "name",
            "kind",
            "config_version",
            "status",
            "last_error",
            "last_run_at",
        )
        .order_by()
    )
    groups: dict[str, _Acc] = {}
    meta: dict[str, tuple[int | None, str]] = {}
    for order_id, number, config_id, name, kind, version, status, error, seen in rows:
        key = action_cause(config_id, error)
        acc = groups.setdefault(key, _Acc())
        meta.setdefault(key, (config_id, normalize_error(error)))
        acc.order_ids.add(order_id)
        if status == SnapshotStatus.FAILED:
            acc.failed_ids.add(order_id)
        acc.first = _earlier(acc.first, seen)
        acc.last = _later(acc.last, seen)
        acc.versions.add(version)
        acc.action = acc.action or name or str(ActionSnapshot(kind=kind).get_kind_display())
        # The example is the latest failure: the one staff most likely heard about.
        if seen is not None and (acc.example is None or seen > acc.example[0]):
            acc.example, acc.example_error = (seen, number), error
        elif acc.example is None:
            acc.example, acc.example_error = (now, number), error
    config_ids = {cid for cid, _error in meta.values() if cid}
    current = dict(ActionConfig.objects.filter(pk__in=config_ids).values_list("pk", "version"))
    result = []
    for key, acc in groups.items():
        group_config, error = meta[key]
        assert acc.example is not None
        result.append(
            FailureGroup(
                key=key,
                reason=AttentionReason.ACTIONS,
                count=len(acc.order_ids),
                first_seen=acc.first,
                last_seen=acc.last,
                example_number=acc.example[1],
                action=acc.action,
                error=error,
                example_error=acc.example_error,
                config_id=group_config,
                failed=len(acc.failed_ids),
                snapshot_versions=sorted(acc.versions),
                config_version=current.get(group_config) if group_config else None,
                order_ids=sorted(acc.order_ids),
            )
        )
    return sorted(result, key=lambda g: (-g.count, g.key))


def _other_group(
    orders: OrderQuerySet, now: dt.datetime, reason: AttentionReason
) -> FailureGroup | None:
    attention = orders.requiring_attention(now, reason=reason)
    found = list(attention.order_by("-created_at").values_list("pk", "number"))
    if not found:
        return None
    ids = [pk for pk, _number in found]
    if reason == AttentionReason.DISPUTE:
        seen = Dispute.objects.filter(order_id__in=ids, closed_at=None).aggregate(
            first=Min("opened_at"), last=Max("opened_at")
        )
    else:
        seen = Refund.objects.filter(
            order_id__in=ids, provider_reversed_at__isnull=False, reversal_handled_at=None
        ).aggregate(first=Min("provider_reversed_at"), last=Max("provider_reversed_at"))
    return FailureGroup(
        key=reason.value,
        reason=reason,
        count=len(ids),
        first_seen=seen["first"],
        last_seen=seen["last"],
        example_number=found[0][1],
        order_ids=ids,
    )


def failure_groups(orders: OrderQuerySet, now: dt.datetime) -> list[FailureGroup]:
    """Every group of the orders requiring attention among `orders` (one checkout's, scoped by
    the caller): action failures by configuration and error, then open disputes and reversed
    refunds."""
    groups = action_groups(orders, now)
    for reason in (AttentionReason.DISPUTE, AttentionReason.REFUND_REVERSED):
        group = _other_group(orders, now, reason)
        if group is not None:
            groups.append(group)
    return groups


def find_group(orders: OrderQuerySet, now: dt.datetime, key: str) -> FailureGroup | None:
    """The group with this key now, or None when it has gone (every order recovered)."""
    if key.startswith("actions:"):
        return next((g for g in action_groups(orders, now) if g.key == key), None)
    try:
        reason = AttentionReason(key)
    except ValueError:
        return None
    return _other_group(orders, now, reason)


def window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
