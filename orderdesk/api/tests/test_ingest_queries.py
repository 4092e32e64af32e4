"""The checkout's hot path in as few queries as the work needs (issue 16).

Counted in transactional tests, so each call's transaction is a real one, as in production,
and nested blocks would show as the savepoints they cost; the transaction's own BEGIN and
COMMIT are left out (two more round trips per writing call). Each count is exact, so a query added on the hot path fails here and
must be argued for; the statements are listed where each count is asserted.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.testing import factories

BASE = "/api/v1/checkout"
# SQLite logs its transaction's BEGIN and COMMIT; PostgreSQL's driver sends them unlogged.
# Either way they are not counted, so both databases give the same counts.
TRANSACTION = re.compile(r"^(BEGIN( IMMEDIATE)?|COMMIT|ROLLBACK)$")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop() -> factories.World:
    w = factories.world()
    # A checkout-level action, so every open also snapshots one (the demo's checkouts have
    # several levels); the link has two tags.
    ActionConfig.objects.create(
        checkout=w.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Receipt",
        settings={"subject": "Thanks"},
    )
    return w


def call(client: Client, key: str, method: str, path: str, body: Any = None) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(
            method,
            BASE + path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code < 300, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    return response.json(), len([sql for sql in statements if not TRANSACTION.match(sql)])


def test_opening_an_order_takes_seven_queries(client: Client, shop: factories.World) -> None:
    order, queries = call(client, shop.ingest_key, "POST", "/orders", {"link": "bf-meta"})

    # The key with the address's recent guesses; the link, offer, items and prices; INSERTs
    # of the order (its number from the sequence in the statement), its line, its two tags,
    # its event; its action snapshots copied from the configuration (INSERT … SELECT).
    # The ceiling is eight.
    assert queries == 7
    assert order["number"] == 1
    assert shop.org.orders.get().action_snapshots.count() == 1


def test_the_calls_up_to_the_payment_take_few_queries(
    client: Client, shop: factories.World
) -> None:
    key = shop.ingest_key
    opened, _ = call(client, key, "POST", "/orders", {"link": "bf-meta"})
    path = f"/orders/{opened['token']}"

    shown, shown_queries = call(client, key, "GET", path)
    billed, billing_queries = call(
        client, key, "PUT", f"{path}/billing", {"email": "maija@example.com", "country": "FI"}
    )
    started, payment_queries = call(
        client,
        key,
        "POST",
        f"{path}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"},
    )

    # The key; the order with its link, offer and code; its lines (a Started order has no
    # payment to read).
    assert (shown["status"], shown_queries) == ("started", 3)
    # The key; the order; the order again under its lock; one UPDATE of the form and the
    # status; the event; the lines and payments of the answer.
    assert (billed["status"], billing_queries) == ("in_progress", 7)
    # The key; the order; its lock; the attempt's INSERT; the status UPDATE; the event; then
    # after commit the provider's answer: the attempt under its lock and its UPDATE.
    assert (started["status"], payment_queries) == ("pending", 8)


def test_add_ons_and_discount_codes_take_few_queries(client: Client, shop: factories.World) -> None:
    key = shop.ingest_key
    factories.discount_code(shop.checkout, "SAVE10")
    opened, _ = call(client, key, "POST", "/orders", {"link": "bf-meta"})
    path = f"/orders/{opened['token']}"

    added, add_queries = call(client, key, "POST", f"{path}/add-ons", {"add_on_id": shop.bump.pk})
    coded, code_queries = call(client, key, "POST", f"{path}/discount-code", {"code": "save10"})

    assert [line["kind"] for line in added["lines"]] == ["main", "order_bump"]
    assert coded["discount_code"] == "SAVE10"
    # Re-pricing reads more: the key, the order, its lock, the chosen add-ons, the offer's
    # add-ons and items with prices, the code's products, the old lines (deleting them checks
    # no refund holds one), the new lines, totals and event, the snapshots and configuration,
    # the payments of the answer, and the savepoint of the service inside the workflow's
    # transaction. Counted so that a new query here is a choice.
    assert (add_queries, code_queries) == (18, 19)
