"""Completing an order with refunds: the rule of docs/architecture.md, every status × choice.

The status keeps saying where the money is: without "Also restore refunded data", Partially
Refunded stays Partially Refunded and Refunded in full is refused; with it, the refunds are
reversed and the order is Marked as Completed. Issue 13, finding 4.
"""

from __future__ import annotations

import uuid

import pytest

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.payments.models import RefundStatus
from orderdesk.payments.refunds import RefundError, RefundRequest, refund_options, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes
from orderdesk.workflows.completion import completion_choices, mark_completed

__all__ = ["fake", "fakes"]

S = OrderStatus
REFUSED = "refused"


def order_in(world: factories.World, status: S) -> Order:
    """An order in `status`, its refunds booked through the service (course €79, bump €9)."""
    refunded = {S.PARTIALLY_REFUNDED: 900, S.REFUNDED: 8800}.get(status)
    order = factories.order(
        world, status=S.COMPLETED if refunded else status, add_ons=(world.bump,)
    )
    ActionSnapshot.objects.create(
        order=order, level="offer", kind="kajabi_grant", status=SnapshotStatus.FAILED, position=0
    )
    if refunded:
        course, bump = order.lines.order_by("position")
        amounts = {bump.pk: 900} if refunded == 900 else {course.pk: 7900, bump.pk: 900}
        refund_order(
            order,
            RefundRequest(amounts=amounts, via_provider=True),
            actor=Actor.system(),
            idempotency_key=uuid.uuid4().hex,
        )
        order.refresh_from_db()
        assert (order.status, order.refunded_minor) == (status, refunded)
    return order


# status → (without restoring, with restoring): the status it ends in, or REFUSED.
RULE = {
    S.STARTED: (REFUSED, REFUSED),
    S.IN_PROGRESS: (REFUSED, REFUSED),
    S.PROCESSING: (REFUSED, REFUSED),
    S.PAID: (S.MARKED_COMPLETED, REFUSED),  # nothing to restore
    S.COMPLETED: (S.MARKED_COMPLETED, REFUSED),
    S.MARKED_COMPLETED: (S.MARKED_COMPLETED, REFUSED),
    S.PARTIALLY_REFUNDED: (S.PARTIALLY_REFUNDED, S.MARKED_COMPLETED),
    S.REFUNDED: (REFUSED, S.MARKED_COMPLETED),
}


def test_the_rule_covers_every_status() -> None:
    assert set(RULE) == set(S)


@pytest.mark.parametrize("use_latest_config", [False, True], ids=["as sold", "latest config"])
@pytest.mark.parametrize("restore", [False, True], ids=["refunds kept", "refunds restored"])
@pytest.mark.parametrize("status", list(RULE))
def test_completing_keeps_the_status_true_to_the_money(
    world: factories.World,
    fake: FakeProvider,
    status: S,
    restore: bool,
    use_latest_config: bool,
) -> None:
    order = order_in(world, status)
    before = (order.status, order.refunded_minor, order.events.count())
    expected = RULE[S(status)][restore]

    if expected == REFUSED:
        with pytest.raises((TransitionNotAllowed, RefundError)) as refused:
            mark_completed(
                order, restore_refunds=restore, use_latest_config=use_latest_config, by=world.sam
            )
        order.refresh_from_db()
        assert (order.status, order.refunded_minor, order.events.count()) == before
        if status == S.REFUNDED:
            assert str(refused.value) == (
                f"Order #{order.number} is Refunded: cannot mark as completed. It was refunded"
                " in full: to complete it, also restore its refunded data (Orderdesk's records"
                " only), or leave it refunded."
            )
        return

    order = mark_completed(
        order, restore_refunds=restore, use_latest_config=use_latest_config, by=world.sam
    )

    order.refresh_from_db()
    assert order.status == expected
    assert order.marked_completed_at is not None
    assert order.events.filter(type=EventType.MARKED_COMPLETED).count() == 1
    booked = order.refunds.filter(status__in=RefundStatus.BOOKED)
    if restore:
        assert (order.refunded_minor, booked.count()) == (0, 0)
        assert refund_options(order).order_left_minor == order.total_minor
    else:
        # Kept refunds stay booked, and the Refund button offers only what is left.
        assert order.refunded_minor == sum(r.amount_minor for r in booked)
        assert refund_options(order).order_left_minor == order.total_minor - order.refunded_minor
        assert refund_options(order).refundable
    choices = completion_choices(order)
    assert choices is not None or expected == S.MARKED_COMPLETED


@pytest.mark.parametrize(
    ("status", "required", "provider"),
    [
        (S.PARTIALLY_REFUNDED, False, True),
        (S.REFUNDED, True, True),
        (S.COMPLETED, False, False),
    ],
)
def test_the_dialog_ticks_restoring_when_it_is_required_and_names_the_providers_refund(
    world: factories.World, fake: FakeProvider, status: S, required: bool, provider: bool
) -> None:
    choices = completion_choices(order_in(world, status))

    assert choices is not None
    assert (choices.restore_required, choices.provider_returned_money) == (required, provider)
