"""Two API requests with one Idempotency-Key at the same moment: one refund, one replay."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from orderdesk.orders.models import Order
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes

__all__ = ["fake", "fakes"]

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot taken once; take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_retry_racing_the_first_request_is_answered_as_a_replay(fake: FakeProvider) -> None:
    world = factories.world()
    order = factories.order(world)
    _, raw = ApiToken.issue(
        checkout=world.checkout, name="script", role=CheckoutRole.CUSTOMER_SERVICE
    )
    body = json.dumps({"lines": [{"line_id": order.lines.get().pk, "amount_minor": 2500}]})
    answers: list[tuple[int, str, Any]] = []

    def send() -> None:
        try:
            response = Client().post(
                f"/api/v1/orders/{order.number}/refunds",
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "race-key-0001"},
            )
            replayed = response.headers.get("Idempotent-Replayed", "")
            answers.append((response.status_code, replayed, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    # Holding the order's row lock lets both requests past every look-up before either one
    # writes: the interleaving a client's quick retry meets, made certain.
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while waiting_on_a_lock() < 2:
            assert time.monotonic() < deadline, "the requests never reached the order lock"
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=60)

    assert sorted((status, replayed) for status, replayed, _ in answers) == [
        (200, "true"),
        (201, ""),
    ], answers
    assert answers[0][2]["refund"]["id"] == answers[1][2]["refund"]["id"]
    assert Refund.objects.count() == 1
    assert len(fake.calls) == 1
    order.refresh_from_db()
    assert order.refunded_minor == 2500
