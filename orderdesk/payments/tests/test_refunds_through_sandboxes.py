"""Refunds end to end: refund_order → real adapters → the sandboxes over HTTP → notifications."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
from django.conf import settings
from django.urls import reverse

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentStatus, ProviderAccount, Refund, RefundStatus
from orderdesk.payments.refunds import (
    EPASSI_NO_INTERFACE_MESSAGE,
    EPASSI_PARTIAL_MESSAGE,
    MANUAL_MESSAGE,
    Outcome,
    RefundRequest,
    reconcile_pending_refunds,
    refund_notice,
    refund_order,
)
from orderdesk.payments.tests.test_epassi_sandbox import paid_by_epassi
from orderdesk.payments.tests.test_paytrail_sandbox import paid_by_paytrail
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.sandboxes import deliveries, store
from orderdesk.testing import factories
from orderdesk.testing.factories import World


def refund(order: Order, amount: int, *, via_provider: bool = True) -> Refund:
    line = order.lines.get()
    return refund_order(
        order,
        RefundRequest(amounts={line.pk: amount}, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def sandbox_refunds(provider: str, attempt_reference: str) -> list[dict[str, object]]:
    match = {"payment_intent": attempt_reference} if provider == "stripe" else {}
    found = store.find(provider, "refund", **match)
    if provider == "paytrail":
        found = [r for r in found if r.get("payment") == attempt_reference]
    return found


def settled(order: Order) -> tuple[str, int, str]:
    order.refresh_from_db()
    attempt = order.payment_attempts.get()
    return order.status, order.refunded_minor, attempt.status


def test_stripe_partial_then_full_refund(sandboxed: World) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)

    first = refund(order, 2500)
    assert (first.status, first.provider_reference[:3]) == (RefundStatus.SUCCEEDED, "re_")
    assert settled(order) == (
        OrderStatus.PARTIALLY_REFUNDED,
        2500,
        PaymentStatus.PARTIALLY_REFUNDED,
    )

    rest = refund(order, order.total_minor - 2500)
    assert rest.status == RefundStatus.SUCCEEDED
    # Stripe's refund.created / refund.updated webhooks come back and match our rows.
    sent = deliveries.deliver_pending()
    assert sent
    assert all(d.last_status == 200 for d in sent)

    assert settled(order) == (OrderStatus.REFUNDED, 7900, PaymentStatus.REFUNDED)
    assert Refund.objects.count() == 2
    assert len(sandbox_refunds("stripe", attempt.provider_reference)) == 2


def test_stripe_500_stays_pending_until_reconciled_as_failed(sandboxed: World) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "500")

    r = refund(order, 2500)

    assert r.status == RefundStatus.PENDING
    assert "Stripe" in r.failure_message
    assert settled(order) == (OrderStatus.COMPLETED, 0, PaymentStatus.SUCCEEDED)
    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 1
    r.refresh_from_db()
    assert (r.status, r.failure_message) == (
        RefundStatus.FAILED,
        "Stripe has no refund for this request",
    )
    assert settled(order) == (OrderStatus.COMPLETED, 0, PaymentStatus.SUCCEEDED)
    assert sandbox_refunds("stripe", attempt.provider_reference) == []


def test_stripe_timeout_stays_pending_and_reconciles_to_the_one_refund_made(
    sandboxed: World,
) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "timeout")

    r = refund(order, 2500)
    time.sleep(0.7)  # the stalled sandbox finishes its answer

    assert r.status == RefundStatus.PENDING
    assert settled(order)[1] == 0
    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 1
    r.refresh_from_db()
    assert r.status == RefundStatus.SUCCEEDED
    assert settled(order) == (
        OrderStatus.PARTIALLY_REFUNDED,
        2500,
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    deliveries.deliver_pending()
    assert Refund.objects.count() == 1
    assert len(sandbox_refunds("stripe", attempt.provider_reference)) == 1


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(sandboxed: World) -> None:
    order, attempt, adapter = paid_by_stripe(sandboxed)
    # The merchant refunds in Stripe itself: no Orderdesk key in the metadata.
    client = adapter._client()  # type: ignore[attr-defined]
    client.v1.refunds.create(params={"payment_intent": attempt.provider_reference, "amount": 1000})

    deliveries.deliver_pending()
    deliveries.deliver_pending()

    r = Refund.objects.get()
    assert (r.origin, r.status, r.amount_minor) == ("provider", RefundStatus.SUCCEEDED, 1000)
    assert settled(order) == (
        OrderStatus.PARTIALLY_REFUNDED,
        1000,
        PaymentStatus.PARTIALLY_REFUNDED,
    )


def test_paytrail_partial_refund_ok(sandboxed: World) -> None:
    order, attempt, _ = paid_by_paytrail(sandboxed)

    r = refund(order, 900)
    deliveries.deliver_pending()

    assert r.status == RefundStatus.SUCCEEDED
    assert settled(order) == (OrderStatus.PARTIALLY_REFUNDED, 900, PaymentStatus.PARTIALLY_REFUNDED)
    assert Refund.objects.count() == 1
    assert len(sandbox_refunds("paytrail", attempt.provider_reference)) == 1


def test_paytrail_pending_refund_is_settled_by_the_callback(sandboxed: World) -> None:
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", "pending")

    r = refund(order, 900)
    assert r.status == RefundStatus.PENDING
    assert settled(order)[1] == 0

    settle = reverse("sandboxes:paytrail-settle", args=[r.provider_reference])
    httpx.post(settings.SITE_URL + settle, data={"outcome": "ok"})
    [callback] = deliveries.deliver_pending()

    assert callback.last_status == 200
    r.refresh_from_db()
    assert r.status == RefundStatus.SUCCEEDED
    assert settled(order) == (OrderStatus.PARTIALLY_REFUNDED, 900, PaymentStatus.PARTIALLY_REFUNDED)


def test_paytrail_422_fails_the_refund_and_changes_nothing_else(sandboxed: World) -> None:
    order, _, _ = paid_by_paytrail(sandboxed, "spankki")

    r = refund(order, 900)

    assert r.status == RefundStatus.FAILED
    assert "does not support refunds" in r.failure_message
    assert settled(order) == (OrderStatus.COMPLETED, 0, PaymentStatus.SUCCEEDED)


def test_epassi_full_refund_goes_through_epassi(sandboxed: World) -> None:
    order, _, _ = paid_by_epassi(sandboxed)

    r = refund(order, order.total_minor)

    assert r.status == RefundStatus.SUCCEEDED
    assert settled(order) == (OrderStatus.REFUNDED, 7900, PaymentStatus.REFUNDED)


def test_epassi_partial_refund_is_recorded_only(sandboxed: World) -> None:
    order, _, _ = paid_by_epassi(sandboxed)

    r = refund(order, 1000)

    assert (r.status, r.recorded_only_reason) == (RefundStatus.RECORDED, EPASSI_PARTIAL_MESSAGE)
    assert settled(order) == (OrderStatus.PARTIALLY_REFUNDED, 1000, PaymentStatus.SUCCEEDED)
    assert store.find("epassi", "cancel") == []


def test_epassi_full_refund_is_recorded_for_a_merchant_without_the_refund_interface(
    sandboxed: World,
) -> None:
    ProviderAccount.objects.filter(provider="epassi").update(epassi_no_refund_interface=True)
    order, _, _ = paid_by_epassi(sandboxed)

    r = refund(order, order.total_minor)

    assert (r.status, r.recorded_only_reason) == (
        RefundStatus.RECORDED,
        EPASSI_NO_INTERFACE_MESSAGE,
    )
    assert settled(order) == (OrderStatus.REFUNDED, 7900, PaymentStatus.SUCCEEDED)
    assert store.find("epassi", "cancel") == []
    notice = refund_notice(r)
    assert notice.outcome == Outcome.ACTION_NEEDED
    assert notice.message == (
        "Refund of €79.00 recorded, and the money is not returned yet. This merchant has no"
        " Epassi refund interface: this refund is recorded, but the money is returned only"
        " when you cancel the purchase in Epassi's own service."
    )


def test_manual_payment_refund_is_recorded_only(sandboxed: World) -> None:
    order = factories.order(sandboxed, provider="manual", method="invoice")

    r = refund(order, order.total_minor)

    assert (r.status, r.recorded_only_reason) == (RefundStatus.RECORDED, MANUAL_MESSAGE)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
