from __future__ import annotations

import uuid
from typing import Any

import pytest

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentStatus, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import (
    RefundError,
    RefundRequest,
    refund_order,
    restore_refunded_data,
)
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider


def refund(order: Order, amounts: dict[int, int], *, via_provider: bool = True) -> None:
    refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    )


def test_it_restores_the_pre_refund_figures_and_keeps_the_history(
    world: factories.World, fake: FakeProvider
) -> None:
    order = factories.order(world, add_ons=(world.bump,))
    course, workbook = order.lines.order_by("position")
    refund(order, {course.pk: 7900})
    refund(order, {workbook.pk: 900}, via_provider=False)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED

    restored, _reversed = restore_refunded_data(order, actor=Actor.of_user(world.alice))

    assert restored.refunded_minor == 0
    assert restored.total_minor == 8800
    assert list(order.lines.values_list("refunded_minor", flat=True)) == [0, 0]
    attempt = order.payment_attempts.get()
    assert (attempt.status, attempt.refunded_minor) == (PaymentStatus.SUCCEEDED, 0)
    assert list(order.refunds.values_list("status", flat=True)) == [RefundStatus.REVERSED] * 2
    assert all(r.reversed_at for r in order.refunds.all())
    event = order.events.get(type=EventType.REFUNDS_REVERSED)
    assert event.actor_user == world.alice
    assert event.data["before"] == {
        "refunded_minor": 8800,
        "lines": {str(course.pk): 7900, str(workbook.pk): 900},
        "payments": {str(attempt.pk): [PaymentStatus.PARTIALLY_REFUNDED, 7900]},
    }


def test_the_orders_part_goes_through_its_transition(
    world: factories.World, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = factories.order(world)
    refund(order, {order.lines.get().pk: 1000})
    calls: list[list[int]] = []
    reverse_refunds = transitions.reverse_refunds

    def spy(order: Order, **kwargs: Any) -> Order:
        calls.append(list(kwargs["refund_ids"]))
        return reverse_refunds(order, **kwargs)

    monkeypatch.setattr(transitions, "reverse_refunds", spy)

    restored, reversed_refunds = restore_refunded_data(order, actor=Actor.system())

    assert calls == [[r.pk for r in reversed_refunds]]
    assert restored.refunded_minor == 0


def test_it_needs_refund_history(world: factories.World) -> None:
    order = factories.order(world)
    with pytest.raises(RefundError, match="no refunds"):
        restore_refunded_data(order, actor=Actor.system())


def test_it_waits_for_a_pending_refund(world: factories.World, fake: FakeProvider) -> None:
    order = factories.order(world, add_ons=(world.bump,))
    course, workbook = order.lines.order_by("position")
    refund(order, {course.pk: 100})
    fake.answer = RefundResult("pending")
    refund(order, {workbook.pk: 100})

    with pytest.raises(RefundError, match="still waiting"):
        restore_refunded_data(order, actor=Actor.system())
    order.refresh_from_db()
    assert order.refunded_minor == 100


def test_mark_as_completed_can_restore_refunded_data(
    world: factories.World, fake: FakeProvider
) -> None:
    from orderdesk.workflows.completion import mark_completed

    order = factories.order(world, add_ons=(world.bump,))
    course, _ = order.lines.order_by("position")
    refund(order, {course.pk: 7900})

    done = mark_completed(order, restore_refunds=True, by=Actor.of_user(world.sam))

    assert (done.status, done.refunded_minor) == (OrderStatus.MARKED_COMPLETED, 0)
    assert order.refunds.get().status == RefundStatus.REVERSED
    types = list(order.events.order_by("pk").values_list("type", flat=True))
    assert types.index(EventType.REFUNDS_REVERSED) < types.index(EventType.MARKED_COMPLETED)


def test_a_failed_restore_leaves_the_order_as_it_was(world: factories.World) -> None:
    from orderdesk.workflows.completion import mark_completed

    order = factories.order(world)
    with pytest.raises(RefundError):
        mark_completed(order, restore_refunds=True, by=Actor.of_user(world.sam))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
