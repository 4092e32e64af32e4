"""The panel's ways to settle a pending refund, without a browser: who may, and what it says."""

from __future__ import annotations

import uuid

from django.test import Client

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, Fakes, fake, fakes

__all__ = ["fake", "fakes"]

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


def pending_refund(order: Order) -> Refund:
    refund = refund_order(
        order,
        RefundRequest(amounts={order.lines.get().pk: 1000}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    assert refund.status == RefundStatus.PENDING
    return refund


def test_the_panel_offers_check_now_or_confirmation_as_the_provider_allows(
    client: Client, world: factories.World, fakes: Fakes
) -> None:
    fakes.stripe.answer = fakes.epassi.answer = RefundResult("pending")
    fakes.epassi.checkable = False
    stripe = factories.order(world)
    pending_refund(stripe)
    client.force_login(world.sam)

    html = client.get(f"/orders/{stripe.number}/", headers=HTMX).content.decode()
    assert ">Check now</button>" in html
    assert "refunded it</button>" not in html
    assert "checking with Stripe whether the money went back" in html

    client.force_login(world.bob)  # a viewer sees the outcome, not the buttons
    html = client.get(f"/orders/{stripe.number}/", headers=HTMX).content.decode()
    assert "checking with Stripe" in html
    assert ">Check now</button>" not in html


def test_confirming_answers_with_the_fresh_panel_and_refuses_bad_input(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RefundResult("pending")
    fake.checkable = False
    order = factories.order(world)
    refund = pending_refund(order)
    url = f"/orders/{order.number}/refunds/{refund.pk}/confirm/"
    client.force_login(world.bob)
    assert client.post(url, {"refunded": "no"}, headers=HTMX).status_code == 403
    client.force_login(world.sam)

    bad = client.post(url, {"refunded": "perhaps"}, headers=HTMX)
    assert bad.status_code == 400
    assert "Say whether the provider refunded it." in bad.content.decode()
    assert client.get(f"/orders/{order.number}/refunds/{refund.pk}/check/").status_code == 405

    done = client.post(url, {"refunded": "no"}, headers=HTMX)

    assert done.status_code == 200
    html = done.content.decode()
    assert 'class="alert alert-error"' in html
    assert (
        "Refund of €10.00 failed: Stripe did not refund it, confirmed by sam@example.com." in html
    )
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    missing = client.post(f"/orders/{order.number}/refunds/999999/confirm/", {"refunded": "no"})
    assert missing.status_code == 404


def test_mark_as_paid_is_offered_for_invoices_only_and_names_who(
    client: Client, world: factories.World
) -> None:
    invoice = factories.order(
        world, status=OrderStatus.PROCESSING, provider="manual", method="invoice"
    )
    card = factories.order(world, status=OrderStatus.PROCESSING)
    client.force_login(world.sam)
    assert (
        ">Mark as paid</button>"
        in client.get(f"/orders/{invoice.number}/", headers=HTMX).content.decode()
    )
    assert (
        ">Mark as paid</button>"
        not in client.get(f"/orders/{card.number}/", headers=HTMX).content.decode()
    )

    refused = client.post(f"/orders/{card.number}/mark-paid/", headers=HTMX)
    assert refused.status_code == 400
    assert "Stripe payments are confirmed by Stripe" in refused.content.decode()
    client.force_login(world.bob)
    assert client.post(f"/orders/{invoice.number}/mark-paid/", headers=HTMX).status_code == 403
    client.force_login(world.sam)

    done = client.post(f"/orders/{invoice.number}/mark-paid/", headers=HTMX)

    html = done.content.decode()
    assert "Marked as paid by sam@example.com" in html
    assert ">Mark as paid</button>" not in html
    invoice.refresh_from_db()
    assert invoice.status == OrderStatus.COMPLETED
