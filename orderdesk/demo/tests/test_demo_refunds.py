"""Generated demo orders refund through the provider sandboxes like orders paid through them.

refund_order → the real adapters → the sandboxes over HTTP on a live server.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import time_machine

from orderdesk.demo.data import DemoData, ensure_demo_data
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Refund, RefundStatus
from orderdesk.payments.refunds import RefundError, RefundRequest, refund_order
from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.models import SandboxObject
from orderdesk.sandboxes.paytrail import EMAIL_REFUND_ONLY
from orderdesk.sandboxes.seed import register_payments
from orderdesk.workflows.completion import mark_completed

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo(transactional_db: None, live_server: Any, settings: Any) -> DemoData:
    settings.SITE_URL = live_server.url
    settings.STRIPE_API_BASE = f"{live_server.url}/sandbox/stripe"
    settings.PAYTRAIL_API_BASE = f"{live_server.url}/sandbox/paytrail"
    settings.EPASSI_API_BASE = f"{live_server.url}/sandbox/epassi"
    settings.PROVIDER_TIMEOUT_SECONDS = 5
    # The demo catalog dates its Black Friday codes from today: today must be NOW too, or the
    # orders generated (and so the ones these tests pick) change with the date.
    with time_machine.travel(NOW, tick=True):
        return ensure_demo_data(site_url=live_server.url, orders=300, now=NOW)


def paid_with(
    provider: str, *, status: str = OrderStatus.COMPLETED
) -> tuple[Order, PaymentAttempt]:
    """A generated order of `status` whose money `provider` took, with no refunds yet."""
    attempts = PaymentAttempt.objects.filter(
        provider=provider, order__status=status, order__refunds__isnull=True
    ).exclude(method__in=EMAIL_REFUND_ONLY)
    attempt = attempts.select_related("order").order_by("pk").first()
    assert attempt is not None, f"the demo has no {status} {provider} order"
    return attempt.order, attempt


def refund(order: Order, amounts: dict[int, int]) -> Refund:
    return refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def everything(order: Order) -> dict[int, int]:
    return {line.pk: line.refundable_minor for line in order.lines.all() if line.refundable_minor}


def restored(order: Order) -> Order:
    """The order marked completed with "Also restore refunded data": Orderdesk's books forget
    the refunds, the provider does not."""
    return mark_completed(order, rerun=False, restore_refunds=True, by=Actor.system())


def settled(order: Order, attempt: PaymentAttempt) -> tuple[str, int, str, int]:
    order.refresh_from_db()
    attempt.refresh_from_db()
    return order.status, order.refunded_minor, attempt.status, attempt.refunded_minor


def test_the_demo_registers_its_paid_payments_at_the_sandboxes_once(demo: DemoData) -> None:
    paid = PaymentAttempt.objects.filter(status__in=["succeeded", "partially_refunded", "refunded"])
    assert demo.sandbox_objects > 0
    assert SandboxObject.objects.filter(provider="stripe", kind="payment_intent").count() == (
        paid.filter(provider="stripe").count()
    )
    assert SandboxObject.objects.filter(provider="paytrail", kind="payment").count() == (
        paid.filter(provider="paytrail").count()
    )
    assert SandboxObject.objects.filter(provider="epassi", kind="payment").count() == (
        paid.filter(provider="epassi").count()
    )
    # Refunds already made through the provider are there too, and counted on their payment.
    provider_refund = Refund.objects.filter(
        via_provider=True, status="succeeded", payment_attempt__provider="stripe"
    ).first()
    assert provider_refund is not None
    assert provider_refund.payment_attempt is not None
    reference = provider_refund.payment_attempt.provider_reference
    intent = store.get("stripe", "payment_intent", reference)
    assert intent is not None
    assert intent["_refunded"] >= provider_refund.amount_minor
    assert store.get("stripe", "refund", provider_refund.provider_reference) is not None

    count = SandboxObject.objects.count()
    again = ensure_demo_data(site_url="http://unused", orders=300, now=NOW)
    assert (again.created, again.sandbox_objects) == (False, 0)
    assert SandboxObject.objects.count() == count


def test_a_generated_stripe_order_refunds_in_part_then_in_full_but_never_twice(
    demo: DemoData,
) -> None:
    order, attempt = paid_with("stripe")
    main = order.lines.order_by("position").first()
    assert main is not None

    first = refund(order, {main.pk: 1000})
    assert (first.status, first.provider_reference[:3]) == (RefundStatus.SUCCEEDED, "re_")
    assert settled(order, attempt) == (
        OrderStatus.PARTIALLY_REFUNDED,
        1000,
        PaymentStatus.PARTIALLY_REFUNDED,
        1000,
    )

    rest = refund(order, everything(order))
    assert rest.status == RefundStatus.SUCCEEDED
    # Stripe's webhooks about the two refunds come back and match our rows.
    sent = deliveries.deliver_pending()
    assert sent
    assert all(d.last_status == 200 for d in sent)
    total = order.total_minor
    assert settled(order, attempt) == (OrderStatus.REFUNDED, total, PaymentStatus.REFUNDED, total)
    intent = store.get("stripe", "payment_intent", attempt.provider_reference)
    assert intent is not None
    assert intent["_refunded"] == total

    # Orderdesk's books refuse a third refund ...
    with pytest.raises(RefundError):
        refund(order, {main.pk: 1})
    # ... and with the books restored by hand, Stripe itself refuses to pay out again.
    order = restored(order)
    again = refund(order, everything(order))
    assert again.status == RefundStatus.FAILED
    assert "already been refunded" in again.failure_message
    assert store.get("stripe", "payment_intent", attempt.provider_reference) == intent


def test_a_generated_paytrail_order_refunds_through_paytrail_but_never_twice(
    demo: DemoData,
) -> None:
    order, attempt = paid_with("paytrail")
    main = order.lines.order_by("position").first()
    assert main is not None

    first = refund(order, {main.pk: 500})
    deliveries.deliver_pending()
    assert first.status == RefundStatus.SUCCEEDED
    rest = refund(order, everything(order))
    assert rest.status == RefundStatus.SUCCEEDED
    assert [d.last_status for d in deliveries.deliver_pending()] == [200]
    total = order.total_minor
    assert settled(order, attempt) == (OrderStatus.REFUNDED, total, PaymentStatus.REFUNDED, total)
    payment = store.get("paytrail", "payment", attempt.provider_reference)
    assert payment is not None
    assert payment["refunded"] == total

    order = restored(order)
    again = refund(order, everything(order))
    assert again.status == RefundStatus.FAILED
    assert "exceeds the amount left to refund" in again.failure_message


def test_a_generated_epassi_order_is_cancelled_at_epassi_once(demo: DemoData) -> None:
    order, attempt = paid_with("epassi")

    first = refund(order, everything(order))
    assert first.status == RefundStatus.SUCCEEDED
    total = order.total_minor
    assert settled(order, attempt) == (OrderStatus.REFUNDED, total, PaymentStatus.REFUNDED, total)
    payment = store.get("epassi", "payment", attempt.stamp)
    assert payment is not None
    assert payment["status"] == "refunded"


def test_a_generated_partly_refunded_stripe_order_refunds_only_what_is_left(
    demo: DemoData,
) -> None:
    earlier = (
        Refund.objects.filter(
            via_provider=True,
            status=RefundStatus.SUCCEEDED,
            payment_attempt__provider="stripe",
            order__status=OrderStatus.PARTIALLY_REFUNDED,
        )
        .select_related("order", "payment_attempt")
        .order_by("pk")
        .first()
    )
    assert earlier is not None
    assert earlier.payment_attempt is not None
    order, attempt = earlier.order, earlier.payment_attempt

    rest = refund(order, everything(order))

    assert rest.status == RefundStatus.SUCCEEDED
    assert rest.amount_minor == order.total_minor - earlier.amount_minor
    total = order.total_minor
    assert settled(order, attempt) == (OrderStatus.REFUNDED, total, PaymentStatus.REFUNDED, total)


def test_nothing_is_registered_without_sandboxes(demo: DemoData, settings: Any) -> None:
    SandboxObject.objects.filter(kind__in=["payment_intent", "payment", "refund"]).delete()
    settings.SANDBOXES_ENABLED = False

    assert register_payments(demo.checkouts) == 0
    assert not SandboxObject.objects.filter(kind__in=["payment_intent", "payment"]).exists()
