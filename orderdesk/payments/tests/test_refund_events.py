from __future__ import annotations

import uuid

from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import (
    PaymentStatus,
    Refund,
    RefundOrigin,
    RefundSettlement,
    RefundStatus,
)
from orderdesk.payments.providers.base import ProviderError, ProviderEvent, RefundResult
from orderdesk.payments.refunds import RefundRequest, apply_refund_event, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider


def paid_order(world: factories.World, provider: str = "stripe") -> Order:
    return factories.order(world, add_ons=(world.bump,), provider=provider)


def refund(order: Order, amount: int, *, via_provider: bool = True) -> Refund:
    course = order.lines.order_by("position").first()
    assert course is not None
    return refund_order(
        order,
        RefundRequest(amounts={course.pk: amount}, via_provider=via_provider),
        actor=Actor.of_user(order.organization.memberships.get(role="owner").user),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def event(order: Order, kind: str = "refund_succeeded", **fields: object) -> ProviderEvent:
    attempt = order.payment_attempts.get()
    values: dict[str, object] = {
        "event_id": uuid.uuid4().hex,
        "kind": kind,
        "type": "charge.refunded",
        "payment_reference": attempt.provider_reference,
        "currency": "EUR",
    }
    values.update(fields)
    return ProviderEvent(**values)  # type: ignore[arg-type]


def test_it_settles_a_pending_refund_from_the_callback(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RefundResult("pending", provider_reference="pt_refund_1")
    order = paid_order(world, "paytrail")
    r = refund(order, 3000)
    assert r.status == RefundStatus.PENDING

    outcome = apply_refund_event(
        event(order, refund_reference="pt_refund_1", amount_minor=3000),
        checkout=order.checkout,
        provider="paytrail",
    )
    replay = apply_refund_event(
        event(order, refund_reference="pt_refund_1", amount_minor=3000),
        checkout=order.checkout,
        provider="paytrail",
    )

    r.refresh_from_db()
    assert r.status == RefundStatus.SUCCEEDED
    assert outcome == replay == f"refund {r.pk}: succeeded"
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 3000)
    assert Refund.objects.count() == 1


def test_it_matches_our_refund_by_the_key_echoed_in_metadata(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = ProviderError("timeout", permanent=False)
    order = paid_order(world)
    r = refund(order, 3000)

    apply_refund_event(
        event(order, refund_reference="re_9", refund_key=r.idempotency_key, amount_minor=3000),
        checkout=order.checkout,
        provider="stripe",
    )
    apply_refund_event(
        event(order, refund_reference="re_9", refund_key=r.idempotency_key, amount_minor=3000),
        checkout=order.checkout,
        provider="stripe",
    )

    r.refresh_from_db()
    assert (r.status, r.provider_reference) == (RefundStatus.SUCCEEDED, "re_9")
    order.refresh_from_db()
    assert order.refunded_minor == 3000
    assert Refund.objects.count() == 1


def test_it_fails_a_pending_refund_when_the_callback_says_so(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RefundResult("pending", provider_reference="pt_2")
    order = paid_order(world, "paytrail")
    r = refund(order, 3000)

    apply_refund_event(
        event(order, "refund_failed", refund_reference="pt_2", message="insufficient balance"),
        checkout=order.checkout,
        provider="paytrail",
    )

    r.refresh_from_db()
    assert (r.status, r.failure_message) == (RefundStatus.FAILED, "insufficient balance")
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PAID, 0)


def test_it_records_a_dashboard_refund_once(world: factories.World, fake: FakeProvider) -> None:
    order = paid_order(world)

    first = apply_refund_event(
        event(order, refund_reference="re_dash", amount_minor=8000),
        checkout=order.checkout,
        provider="stripe",
    )
    again = apply_refund_event(
        event(order, refund_reference="re_dash", amount_minor=8000),
        checkout=order.checkout,
        provider="stripe",
    )

    assert first.startswith("recorded refund")
    r = Refund.objects.get()
    assert again == f"refund {r.pk}: succeeded"
    assert (r.origin, r.status, r.amount_minor) == (
        RefundOrigin.PROVIDER,
        RefundStatus.SUCCEEDED,
        8000,
    )
    assert sum(r.lines.values_list("amount_minor", flat=True)) == 8000
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 8000)
    assert order.payment_attempts.get().refunded_minor == 8000


def test_it_links_a_dashboard_refund_to_the_one_recorded_here(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    recorded = refund(order, 2000, via_provider=False)

    outcome = apply_refund_event(
        event(order, refund_reference="re_dash2", amount_minor=2000),
        checkout=order.checkout,
        provider="stripe",
    )

    assert outcome == f"linked to recorded refund {recorded.pk}"
    assert Refund.objects.count() == 1
    recorded_at = recorded.settled_at
    recorded.refresh_from_db()
    # Told as it is now: returned through the provider, booked when it was recorded.
    assert (recorded.status, recorded.settlement, recorded.via_provider) == (
        RefundStatus.SUCCEEDED,
        RefundSettlement.PROVIDER,
        True,
    )
    assert (recorded.provider_reference, recorded.settled_at) == ("re_dash2", recorded_at)
    order.refresh_from_db()
    assert order.refunded_minor == 2000
    attempt = order.payment_attempts.get()
    assert (attempt.status, attempt.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)


def test_a_notification_racing_our_own_call_settles_it_instead_of_adding_one(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = ProviderError("timeout", permanent=False)
    order = paid_order(world)
    r = refund(order, 2500)

    apply_refund_event(
        event(order, refund_reference="re_x", amount_minor=2500),
        checkout=order.checkout,
        provider="stripe",
    )

    assert Refund.objects.count() == 1
    r.refresh_from_db()
    assert (r.status, r.provider_reference) == (RefundStatus.SUCCEEDED, "re_x")


def test_it_ignores_refunds_of_unknown_payments_and_other_events(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    assert "ignored" in apply_refund_event(
        event(order, payment_reference="pi_unknown", refund_reference="re_1", amount_minor=1),
        checkout=order.checkout,
        provider="stripe",
    )
    assert "ignored" in apply_refund_event(
        event(order, "payment_succeeded"), checkout=order.checkout, provider="stripe"
    )
    assert Refund.objects.count() == 0
    assert not order.events.filter(type=EventType.REFUND_SUCCEEDED).exists()
