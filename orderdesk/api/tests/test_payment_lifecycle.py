"""A whole purchase through the checkout ingest API and a provider sandbox, over real HTTP:
open → billing → payment → the provider's notification → Paid (here Completed: no actions)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.tests.conftest import sandboxed_world
from orderdesk.sandboxes import deliveries, store
from orderdesk.testing.factories import World


class Storefront:
    """The hosted checkout page, talking to the ingest API with its key."""

    def __init__(self, base: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=f"{base}/api/v1/checkout",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,  # a loaded test machine; the provider calls inside have their own
        )

    def __call__(self, verb: str, path: str, **body: Any) -> httpx.Response:
        return self.client.request(verb, path, json=body or None)


@pytest.fixture
def sandboxed(transactional_db: None, live_server: Any, settings: Any) -> World:
    return sandboxed_world(live_server.url, settings)


@pytest.fixture
def storefront(sandboxed: World, live_server: Any) -> Storefront:
    return Storefront(live_server.url, sandboxed.ingest_key)


def open_and_bill(storefront: Storefront, world: World) -> str:
    opened = storefront("POST", "/orders", link=world.link.slug, currency="EUR")
    assert opened.status_code == 201, opened.text
    token: str = opened.json()["token"]
    billed = storefront(
        "PUT",
        f"/orders/{token}/billing",
        email="maija@example.com",
        country="FI",
        first_name="Maija",
        last_name="Meikäläinen",
    )
    assert billed.status_code == 200, billed.text
    return token


def pay(storefront: Storefront, token: str, provider: str, method: str) -> dict[str, Any]:
    total = storefront("GET", f"/orders/{token}").json()["total_minor"]
    started = storefront(
        "POST",
        f"/orders/{token}/payments",
        provider=provider,
        method=method,
        amount_minor=total,
        currency="EUR",
    )
    assert started.status_code == 201, started.text
    assert storefront("GET", f"/orders/{token}").json()["status"] == "processing"
    body: dict[str, Any] = started.json()
    return body


def test_it_goes_from_open_to_paid_with_stripe(storefront: Storefront, sandboxed: World) -> None:
    token = open_and_bill(storefront, sandboxed)
    started = pay(storefront, token, "stripe", "card")
    assert started["provider_reference"].startswith("pi_")
    assert started["client_secret"]

    paid = httpx.post(started["redirect_url"], data={"outcome": "succeed"}, timeout=30)
    assert paid.status_code == 200
    deliveries.deliver_pending()

    assert storefront("GET", f"/orders/{token}").json()["status"] == OrderStatus.COMPLETED
    order = Order.objects.get(checkout=sandboxed.checkout, checkout_token=token)
    assert [e.type for e in order.events.order_by("pk")][-2:] == ["payment_succeeded", "completed"]


def test_it_goes_from_open_to_paid_with_paytrail(storefront: Storefront, sandboxed: World) -> None:
    token = open_and_bill(storefront, sandboxed)
    started = pay(storefront, token, "paytrail", "osuuspankki")
    assert started["form_fields"] == {"provider": "osuuspankki"}

    hosted = httpx.post(started["form_action"], data=started["form_fields"], timeout=30)
    back = httpx.get(hosted.headers["location"], timeout=30)

    assert back.status_code == 200
    assert storefront("GET", f"/orders/{token}").json()["status"] == OrderStatus.COMPLETED


def test_it_lets_the_customer_retry_after_a_declined_card(
    storefront: Storefront, sandboxed: World
) -> None:
    token = open_and_bill(storefront, sandboxed)
    first = pay(storefront, token, "stripe", "card")
    httpx.post(first["redirect_url"], data={"outcome": "decline"}, timeout=30)
    deliveries.deliver_pending()
    assert storefront("GET", f"/orders/{token}").json()["status"] == OrderStatus.IN_PROGRESS

    second = pay(storefront, token, "stripe", "card")
    httpx.post(second["redirect_url"], data={"outcome": "succeed"}, timeout=30)
    deliveries.deliver_pending()

    assert storefront("GET", f"/orders/{token}").json()["status"] == OrderStatus.COMPLETED


def test_it_answers_a_provider_outage_with_502_and_lets_the_customer_retry(
    storefront: Storefront, sandboxed: World
) -> None:
    token = open_and_bill(storefront, sandboxed)
    total = storefront("GET", f"/orders/{token}").json()["total_minor"]
    store.add_fault("stripe", "payment_intents.create", "500")

    failed = storefront(
        "POST",
        f"/orders/{token}/payments",
        provider="stripe",
        method="card",
        amount_minor=total,
        currency="EUR",
    )

    assert failed.status_code == 502
    assert failed.json()["code"] == "provider_error"
    assert storefront("GET", f"/orders/{token}").json()["status"] == OrderStatus.IN_PROGRESS
    pay(storefront, token, "stripe", "card")
