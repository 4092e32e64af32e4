"""Settling a pending refund through the staff API: "Check now" and staff confirmation."""

from __future__ import annotations

import uuid

from django.test import Client

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, Fakes, fake, fakes

__all__ = ["fake", "fakes"]

PENDING = RefundResult("pending", message="Epassi did not answer in time")


def pending_refund(order: Order) -> Refund:
    refund = refund_order(
        order,
        RefundRequest(amounts={order.lines.get().pk: order.total_minor}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    assert refund.status == RefundStatus.PENDING
    return refund


def headers(world: factories.World, role: str = CheckoutRole.CUSTOMER_SERVICE) -> dict[str, str]:
    _, raw = ApiToken.issue(checkout=world.checkout, name="desk", role=role)
    return {"Authorization": f"Bearer {raw}"}


def test_an_epassi_refund_is_confirmed_with_the_token_on_the_timeline(
    client: Client, world: factories.World, fakes: Fakes
) -> None:
    fakes.epassi.answer, fakes.epassi.checkable = PENDING, False
    order = factories.order(world, provider="epassi", method="epassi")
    refund = pending_refund(order)
    base = f"/api/v1/orders/{order.number}/refunds/{refund.pk}"
    auth = headers(world)

    refused = client.post(f"{base}/check", headers=auth)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("Epassi cannot be asked about this refund")
    bad = client.post(f"{base}/confirm", {"refunded": "maybe"}, "application/json", headers=auth)
    assert bad.status_code == 422

    answer = client.post(f"{base}/confirm", {"refunded": True}, "application/json", headers=auth)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["outcome"], body["refund"]["status"]) == ("succeeded", "succeeded")
    assert body["message"] == "Refund of €79.00 succeeded through Epassi."
    assert body["order"]["general"]["refunded_minor"] == 7900
    assert body["order"]["timeline"][-2]["message"] == (
        "Refund of €79.00: API token desk confirmed that Epassi returned the money"
    )
    again = client.post(f"{base}/confirm", {"refunded": False}, "application/json", headers=auth)
    assert again.status_code == 400
    assert "no longer pending" in again.json()["detail"]


def test_check_now_settles_a_stripe_refund_and_says_how(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RefundResult("pending", message="Stripe: server error")
    order = factories.order(world)
    refund = pending_refund(order)
    base = f"/api/v1/orders/{order.number}/refunds/{refund.pk}"
    fake.status_answer = RefundResult("failed", message="Stripe has no refund for this request")

    body = client.post(f"{base}/check", headers=headers(world)).json()

    assert (body["outcome"], body["can_check"], body["can_confirm"]) == ("failed", False, False)
    assert body["message"].startswith("Refund of €79.00 failed: Stripe has no refund")
    assert body["order"]["general"]["refunded_minor"] == 0


def test_a_viewer_cannot_settle_and_another_orders_refund_is_not_found(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = PENDING
    order, other = factories.order(world), factories.order(world)
    refund = pending_refund(order)

    viewer = client.post(
        f"/api/v1/orders/{order.number}/refunds/{refund.pk}/check",
        headers=headers(world, CheckoutRole.VIEWER),
    )
    elsewhere = client.post(
        f"/api/v1/orders/{other.number}/refunds/{refund.pk}/check", headers=headers(world)
    )

    assert (viewer.status_code, elsewhere.status_code) == (403, 404)
    assert fake.status_calls == []


def test_mark_paid_confirms_an_invoice_and_refuses_a_card_payment(
    client: Client, world: factories.World
) -> None:
    invoice = factories.order(
        world, status=OrderStatus.PROCESSING, provider="manual", method="invoice"
    )
    card = factories.order(world, status=OrderStatus.PROCESSING)
    auth = headers(world)

    viewer = client.post(
        f"/api/v1/orders/{invoice.number}/mark-paid", headers=headers(world, CheckoutRole.VIEWER)
    )
    refused = client.post(f"/api/v1/orders/{card.number}/mark-paid", headers=auth)
    paid = client.post(f"/api/v1/orders/{invoice.number}/mark-paid", headers=auth)
    again = client.post(f"/api/v1/orders/{invoice.number}/mark-paid", headers=auth)

    assert viewer.status_code == 403
    assert (refused.status_code, refused.json()["code"]) == (409, "mark_paid_refused")
    assert paid.status_code == again.status_code == 200
    body = again.json()
    assert body["status"] == "completed"
    assert body["payments"][0]["status"] == "succeeded"
    assert body["payments"][0]["confirmed_by"] == "API token desk"
    assert body["payments"][0]["succeeded_at"]
    card.refresh_from_db()
    assert card.status == OrderStatus.PROCESSING
