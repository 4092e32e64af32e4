"""What the benchmarks share: SQL helpers, timing, and the signed-in owner of the biggest checkout.

Import it after `django.setup()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from orderdesk.organizations.models import Checkout, User


def one(sql: str, *params: Any) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def percentile(values: list[float], p: float) -> float:
    if not values:
        raise ValueError("no measurements")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(
    fn: Callable[[], Any], runs: int, warmup: int = 2, cpu: list[float] | None = None
) -> list[float]:
    """Wall milliseconds per run; `cpu` collects this process's CPU milliseconds per run."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) * 1000)
    return out


def biggest_checkout() -> Checkout:
    checkout_id = one(
        "SELECT checkout_id FROM orders_order GROUP BY checkout_id ORDER BY count(*) DESC LIMIT 1"
    )
    assert checkout_id is not None, "the database has no orders"
    return Checkout.objects.select_related("organization").get(pk=checkout_id)


def owner_of(checkout: Checkout) -> User:
    owner = (
        User.objects.filter(
            memberships__organization=checkout.organization,
            memberships__role__in=["owner", "admin"],
        )
        .order_by("pk")
        .first()
    )
    assert owner is not None, "the organization needs an owner or admin"
    return owner


@contextmanager
def signed_in(user: User, checkout: Checkout) -> Iterator[Client]:
    """A test client signed in as `user` on `checkout`. Sessions live in signed cookies, so
    a benchmark writes nothing to the database."""
    with override_settings(
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies", DEBUG=False
    ):
        client = Client()
        client.force_login(user)
        session = client.session
        session["current_checkout_id"] = checkout.pk
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key  # type: ignore[assignment]
        yield client
