"""Every status change of SPEC §2, tried from every status: allowed ones move, others refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import ActionHealth, ActorType, Order, OrderEvent, OrderStatus
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.testing import factories

S = OrderStatus
ALL = list(OrderStatus)
PAID_OR_LATER = {S.PAID, S.COMPLETED, S.MARKED_COMPLETED, S.PARTIALLY_REFUNDED}
STAFF = Actor.provider("Tester")


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Order], Order]
    allowed_from: frozenset[OrderStatus]
    to: OrderStatus
    event: EventType
    refusal: str  # the verb in "cannot <verb>."


# Written out from SPEC §2, not imported from transitions.py, so a changed rule fails here.
CASES = [
    Case(
        "start_progress",
        lambda o: transitions.start_progress(o, actor=STAFF),
        frozenset({S.STARTED}),
        S.IN_PROGRESS,
        EventType.BILLING_SAVED,
        "save billing details",
    ),
    Case(
        "start_processing",
        lambda o: transitions.start_processing(o, actor=STAFF),
        frozenset({S.IN_PROGRESS, S.PROCESSING}),
        S.PROCESSING,
        EventType.PAYMENT_STARTED,
        "start a payment",
    ),
    Case(
        "fail_payment",
        lambda o: transitions.fail_payment(o, actor=STAFF, message="Card declined"),
        frozenset({S.PROCESSING}),
        S.IN_PROGRESS,
        EventType.PAYMENT_FAILED,
        "record a failed payment",
    ),
    Case(
        "mark_paid_with_actions",
        lambda o: transitions.mark_paid(o, actor=STAFF, has_actions=True),
        frozenset({S.IN_PROGRESS, S.PROCESSING}),
        S.PAID,
        EventType.PAYMENT_SUCCEEDED,
        "record a payment",
    ),
    Case(
        "mark_paid_without_actions",
        lambda o: transitions.mark_paid(o, actor=STAFF, has_actions=False),
        frozenset({S.IN_PROGRESS, S.PROCESSING}),
        S.COMPLETED,
        EventType.COMPLETED,
        "record a payment",
    ),
    Case(
        "complete",
        transitions.complete,
        frozenset({S.PAID}),
        S.COMPLETED,
        EventType.COMPLETED,
        "complete",
    ),
    Case(
        "mark_completed",
        lambda o: transitions.mark_completed(o, actor=STAFF),
        frozenset(PAID_OR_LATER | {S.REFUNDED}),
        S.MARKED_COMPLETED,
        EventType.MARKED_COMPLETED,
        "mark as completed",
    ),
    Case(
        "partial_refund",
        lambda o: transitions.record_refund(o, refunded_minor=100, actor=STAFF),
        frozenset(PAID_OR_LATER),
        S.PARTIALLY_REFUNDED,
        EventType.STATUS_CHANGED,
        "refund",
    ),
    Case(
        "full_refund",
        lambda o: transitions.record_refund(o, refunded_minor=o.total_minor, actor=STAFF),
        frozenset(PAID_OR_LATER),
        S.REFUNDED,
        EventType.STATUS_CHANGED,
        "refund",
    ),
]
TABLE = [
    pytest.param(case, status, id=f"{case.name}-from-{status.value}")
    for case in CASES
    for status in ALL
]


@pytest.mark.parametrize(("case", "status"), TABLE)
def test_it_allows_exactly_the_transitions_of_the_spec(
    world: factories.World, case: Case, status: OrderStatus
) -> None:
    order = factories.order(world, status=status)
    events_before = OrderEvent.objects.filter(order=order).count()

    if status in case.allowed_from:
        moved = case.call(order)

        assert moved.status == case.to
        stored = Order.objects.get(pk=order.pk)
        assert stored.status == case.to
        event = OrderEvent.objects.filter(order=order).order_by("pk").last()
        assert event is not None
        assert event.type == case.event
        # Completion is the system's doing; everything else is the caller's.
        expected_actor = "System" if case.to == S.COMPLETED else "Tester"
        assert event.actor_label == expected_actor
        assert OrderEvent.objects.filter(order=order).count() > events_before
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            case.call(order)

        assert str(refused.value) == (
            f"Order #{order.number} is {S(status).label}: cannot {case.refusal}."
        )
        assert Order.objects.get(pk=order.pk).status == status
        assert OrderEvent.objects.filter(order=order).count() == events_before


def test_it_records_from_to_and_actor_on_the_event(world: factories.World) -> None:
    order = factories.order(world, status=S.STARTED)
    alice = Actor.of_user(world.alice)

    transitions.start_progress(order, actor=alice)

    event = OrderEvent.objects.get(order=order)
    assert event.data == {"from": "started", "to": "in_progress"}
    assert event.actor_type == ActorType.USER
    assert event.actor_user == world.alice
    assert event.actor_label == "alice@example.com"


def test_it_sets_paid_at_and_pending_health_when_paid_with_actions(
    world: factories.World,
) -> None:
    order = factories.order(world, status=S.PROCESSING)

    paid = transitions.mark_paid(order, actor=Actor.provider("Stripe"), has_actions=True)

    assert paid.paid_at is not None
    assert paid.action_health == ActionHealth.PENDING


def test_it_completes_a_paid_order_when_its_actions_succeed(world: factories.World) -> None:
    order = factories.order(world, status=S.PAID, action_health=ActionHealth.PENDING)

    order = transitions.set_action_health(order, ActionHealth.SUCCEEDED)

    assert order.status == S.COMPLETED
    assert order.completed_at is not None


def test_it_keeps_a_marked_completed_order_when_an_action_fails(world: factories.World) -> None:
    order = factories.order(world, status=S.MARKED_COMPLETED)

    order = transitions.set_action_health(order, ActionHealth.FAILED)

    assert order.status == S.MARKED_COMPLETED
    assert order.action_health == ActionHealth.FAILED


@pytest.mark.parametrize("refunded_minor", [0, -1, 10**9])
def test_it_refuses_a_refund_total_outside_the_order_total(
    world: factories.World, refunded_minor: int
) -> None:
    order = factories.order(world, status=S.PAID)

    with pytest.raises(ValueError, match="outside"):
        transitions.record_refund(order, refunded_minor=refunded_minor, actor=STAFF)

    assert Order.objects.get(pk=order.pk).status == S.PAID


@pytest.mark.parametrize("status", ALL, ids=[s.value for s in ALL])
def test_reversing_refunds_zeroes_the_refunded_figures_of_a_paid_order_only(
    world: factories.World, status: OrderStatus
) -> None:
    order = factories.order(world, status=status, add_ons=(world.bump,))
    course, workbook = order.lines.order_by("position")
    Order.objects.filter(pk=order.pk).update(refunded_minor=8000)
    course.refunded_minor = 7900
    course.save(update_fields=["refunded_minor"])
    workbook.refunded_minor = 100
    workbook.save(update_fields=["refunded_minor"])
    events_before = OrderEvent.objects.filter(order=order).count()

    if status not in PAID_OR_LATER | {S.REFUNDED}:
        with pytest.raises(TransitionNotAllowed, match="cannot restore refunded data"):
            transitions.reverse_refunds(order, actor=STAFF, refund_ids=[1])
        assert Order.objects.get(pk=order.pk).refunded_minor == 8000
        assert OrderEvent.objects.filter(order=order).count() == events_before
        return

    restored = transitions.reverse_refunds(
        order, actor=STAFF, refund_ids=[7, 8], before={"payments": {"1": ["refunded", 8000]}}
    )

    # The status stays: Mark as Completed moves it in the same transaction.
    assert (restored.status, restored.refunded_minor) == (status, 0)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.refunded_minor) == (status, 0)
    assert list(order.lines.order_by("position").values_list("refunded_minor", flat=True)) == [0, 0]
    event = OrderEvent.objects.filter(order=order).order_by("pk").last()
    assert event is not None
    assert (event.type, event.actor_label) == (EventType.REFUNDS_REVERSED, "Tester")
    assert event.message == "Refunded data restored: 2 refund(s) marked reversed"
    assert event.data == {
        "refund_ids": [7, 8],
        "before": {
            "refunded_minor": 8000,
            "lines": {str(course.pk): 7900, str(workbook.pk): 100},
            "payments": {"1": ["refunded", 8000]},
        },
    }
