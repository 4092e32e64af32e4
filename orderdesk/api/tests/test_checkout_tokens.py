"""The checkout addresses its order by an unguessable token (issue 16): an ingest key alone
reads no order, so a leaked key cannot walk the sequential numbers to read customers."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from orderdesk.orders.models import Order
from orderdesk.testing import factories

BASE = "/api/v1/checkout"


def call(client: Client, key: str, method: str, path: str, body: Any = None) -> Any:
    return client.generic(
        method,
        BASE + path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def test_a_leaked_key_cannot_enumerate_orders(client: Client, world: factories.World) -> None:
    key = world.ingest_key
    for n in range(3):
        token = call(client, key, "POST", "/orders", {"link": "bf-meta"}).json()["token"]
        billed = call(
            client,
            key,
            "PUT",
            f"/orders/{token}/billing",
            {"email": f"customer{n}@example.com", "country": "FI", "last_name": "Virtanen"},
        )
        assert billed.status_code == 200
    factories.order(world, email="paid@example.com")  # a paid order too, numbered 4

    answers = [call(client, key, "GET", f"/orders/{n}") for n in range(0, 12)]
    answers += [call(client, key, "GET", f"/orders/{n}/") for n in range(1, 5)]
    writes = [
        call(
            client, key, "PUT", f"/orders/{n}/billing", {"email": "x@example.com", "country": "FI"}
        )
        for n in range(1, 5)
    ]

    assert {a.status_code for a in answers + writes} == {404}
    assert not any(b"@example.com" in a.content or b"Virtanen" in a.content for a in answers)
    assert Order.objects.filter(customer_email="x@example.com").count() == 0


def test_each_order_gets_its_own_long_random_token(world: factories.World) -> None:
    orders = [factories.order(world) for _ in range(20)]
    tokens = [o.checkout_token for o in orders]

    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens)
    assert not any(str(o.number) == o.checkout_token for o in orders)


def test_the_answer_carries_what_the_checkout_page_needs_only(
    client: Client, world: factories.World
) -> None:
    opened = call(client, world.ingest_key, "POST", "/orders", {"link": "bf-meta"}).json()
    token = opened["token"]
    call(
        client,
        world.ingest_key,
        "PUT",
        f"/orders/{token}/billing",
        {"email": "maija@example.com", "country": "FI"},
    )
    started = call(
        client,
        world.ingest_key,
        "POST",
        f"/orders/{token}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"},
    ).json()

    shown = call(client, world.ingest_key, "GET", f"/orders/{token}").json()

    assert shown["customer"]["email"] == "maija@example.com"  # the form it filled in
    assert not {"source", "tags", "device_type", "events", "timeline"} & set(shown)
    assert [a["stamp"] for a in shown["payment_attempts"]] == [started["stamp"]]
    assert "provider_reference" not in shown["payment_attempts"][0]
