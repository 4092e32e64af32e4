"""Mark as paid: staff confirm an invoice or bank transfer was received (issue 13, finding 5).

The payment succeeds with who and when, the order becomes Paid through the transitions and its
actions are queued; card, bank and wallet payments are refused, since only their provider can
confirm them. A second click, or two colleagues at once, mark it paid once.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunStatus
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.payments.models import PaymentStatus
from orderdesk.payments.services import MarkPaidRefused, mark_as_paid, payment_to_confirm
from orderdesk.testing import factories
from orderdesk.testing.factories import World


def invoice_order(world: World, *, with_actions: bool = True) -> Order:
    order = factories.order(
        world, status=OrderStatus.PROCESSING, provider="manual", method="invoice"
    )
    if with_actions:
        ActionSnapshot.objects.create(
            order=order, level=ActionLevel.OFFER, kind=ActionKind.SEND_RECEIPT, position=0
        )
    return order


def test_an_invoice_marked_as_paid_pays_the_order_and_queues_its_actions(world: World) -> None:
    order = invoice_order(world)
    assert payment_to_confirm(order) == order.payment_attempts.get()

    attempt = mark_as_paid(order, actor=Actor.of_user(world.sam))

    attempt.refresh_from_db()
    assert (attempt.status, attempt.confirmed_by) == (PaymentStatus.SUCCEEDED, "sam@example.com")
    assert attempt.succeeded_at is not None
    order.refresh_from_db()
    assert (order.status, order.action_health) == (OrderStatus.PAID, ActionHealth.PENDING)
    assert order.paid_at is not None
    assert ActionRun.objects.filter(snapshot__order=order, status=RunStatus.QUEUED).count() == 1
    event = order.events.get(type=EventType.PAYMENT_SUCCEEDED)
    assert (event.message, event.actor_label) == (
        "Marked as paid (invoice) by sam@example.com",
        "sam@example.com",
    )
    assert payment_to_confirm(order) is None

    # A second click answers with the payment as it is.
    again = mark_as_paid(order, actor=Actor.of_user(world.alice))
    assert (again.pk, again.confirmed_by) == (attempt.pk, "sam@example.com")
    assert order.events.filter(type=EventType.PAYMENT_SUCCEEDED).count() == 1


def test_an_invoice_without_actions_completes(world: World) -> None:
    order = invoice_order(world, with_actions=False)

    attempt = mark_as_paid(order, actor=Actor.of_user(world.sam))

    assert attempt.order.status == OrderStatus.COMPLETED


@pytest.mark.parametrize(
    ("provider", "method", "status"),
    [
        ("stripe", "card", OrderStatus.PROCESSING),
        ("paytrail", "osuuspankki", OrderStatus.PROCESSING),
        ("epassi", "epassi", OrderStatus.PROCESSING),
        ("stripe", "card", OrderStatus.PAID),
    ],
)
def test_payments_a_provider_confirms_are_refused_and_nothing_changes(
    world: World, provider: str, method: str, status: OrderStatus
) -> None:
    order = factories.order(world, status=status, provider=provider, method=method)
    before = order.payment_attempts.get().status
    assert payment_to_confirm(order) is None

    with pytest.raises(MarkPaidRefused) as refused:
        mark_as_paid(order, actor=Actor.of_user(world.sam))

    name = {"stripe": "Stripe", "paytrail": "Paytrail", "epassi": "Epassi"}[provider]
    assert refused.value.message == (
        f"{name} payments are confirmed by {name}: Orderdesk marks the order paid when {name}"
        " reports the payment."
    )
    order.refresh_from_db()
    assert (order.status, order.payment_attempts.get().status) == (status, before)
    assert not order.events.exists()


def test_an_order_without_a_waiting_payment_is_refused(world: World) -> None:
    no_payment = factories.order(world, status=OrderStatus.IN_PROGRESS)
    failed = invoice_order(world)
    failed.payment_attempts.update(status=PaymentStatus.FAILED)

    with pytest.raises(MarkPaidRefused, match="no payment to mark as paid"):
        mark_as_paid(no_payment, actor=Actor.of_user(world.sam))
    with pytest.raises(MarkPaidRefused, match="there is no payment waiting"):
        mark_as_paid(failed, actor=Actor.of_user(world.sam))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_colleagues_marking_it_paid_at_once_pay_it_once() -> None:
    world = factories.world()
    order = invoice_order(world)
    start = threading.Barrier(6)
    confirmed: list[str] = []

    def colleague(actor: Actor) -> None:
        try:
            start.wait()
            confirmed.append(mark_as_paid(order, actor=actor).confirmed_by)
        finally:
            connections.close_all()

    actors = [Actor.of_user(world.sam), Actor.of_user(world.alice)] * 3
    threads = [threading.Thread(target=colleague, args=(a,)) for a in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(confirmed) == 6
    assert len(set(confirmed)) == 1  # everyone is told who marked it first
    assert order.events.filter(type=EventType.PAYMENT_SUCCEEDED).count() == 1
    assert ActionRun.objects.filter(snapshot__order=order).count() == 1
