"""A refund the provider reverses after it succeeded (issue 12, finding 2).

Stripe can fail a refund that had succeeded (a card closed since): the money is back in the
merchant's balance. The books are undone once, the order lands on Requires attention with
that reason, and staff decide about the access the refund removed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunOperation, SnapshotStatus
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import AttentionReason, Order, OrderStatus, attention_reasons_at
from orderdesk.payments.models import PaymentStatus, Refund, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import (
    RefundError,
    RefundRequest,
    handle_reversed_refund,
    record_provider_refund,
    refund_order,
    settle_refund,
)
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.reports import rollups
from orderdesk.reports.models import Grain, SalesDay
from orderdesk.reports.periods import Period
from orderdesk.reports.queries import Scope, Valuation, headline_figures
from orderdesk.sandboxes import deliveries
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider

STRIPE = Actor.provider("Stripe")
REVERSED = RefundResult("failed", message="Stripe refund failed: expired_or_canceled_card")


@pytest.fixture
def order(world: factories.World) -> Order:
    o = factories.order(world, add_ons=(world.bump,))
    ActionSnapshot.objects.create(
        order=o,
        level=ActionLevel.PRODUCT,
        kind=ActionKind.KAJABI_GRANT,
        status="succeeded",
        name="Course access",
        product=world.course,
    )
    return o


def refund_course(order: Order, world: factories.World) -> Refund:
    course = order.lines.get(product=world.course)
    return refund_order(
        order,
        RefundRequest(
            amounts={course.pk: course.total_minor},
            via_provider=True,
            remove_access_line_ids=frozenset({course.pk}),
        ),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def access_removed(order: Order) -> ActionSnapshot:
    """The worker removed the access the refund asked to remove."""
    snapshot = order.action_snapshots.get(kind=ActionKind.KAJABI_GRANT)
    ActionRun.objects.filter(snapshot=snapshot).update(status="succeeded")
    snapshot.status = SnapshotStatus.REVOKED
    snapshot.save(update_fields=["status"])
    return snapshot


def books(order: Order) -> tuple[str, int, list[int], str, int]:
    order.refresh_from_db()
    attempt = order.payment_attempts.get()
    return (
        order.status,
        order.refunded_minor,
        list(order.lines.values_list("refunded_minor", flat=True)),
        attempt.status,
        attempt.refunded_minor,
    )


def reasons(order: Order) -> list[AttentionReason]:
    return attention_reasons_at(Order.objects.get(pk=order.pk), timezone.now())


def test_a_reversed_refund_undoes_its_books_once(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    before = books(order)
    refund = refund_course(order, world)
    assert books(order)[0] == OrderStatus.PARTIALLY_REFUNDED

    settle_refund(refund, REVERSED, actor=STRIPE)
    settle_refund(refund, REVERSED, actor=STRIPE)  # the same news again (refund.updated, .failed)

    assert books(order) == before == (OrderStatus.PAID, 0, [0, 0], PaymentStatus.SUCCEEDED, 0)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.provider_reversed_at is not None
    assert refund.rollup_stale
    assert refund.failure_message == REVERSED.message
    events = order.events.filter(type=EventType.REFUND_REVERSED_BY_PROVIDER)
    assert events.count() == 1
    assert events.get().data["from"] == OrderStatus.PARTIALLY_REFUNDED
    assert events.get().data["to"] == OrderStatus.PAID


def test_the_order_requires_attention_for_the_reversal_and_says_what_access_was_removed(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)
    access_removed(order)

    settle_refund(refund, REVERSED, actor=STRIPE)

    now = timezone.now()
    assert Order.objects.requiring_attention(now).filter(pk=order.pk).exists()
    assert (
        Order.objects.requiring_attention(now, reason=AttentionReason.REFUND_REVERSED)
        .filter(pk=order.pk)
        .exists()
    )
    assert reasons(order) == [AttentionReason.REFUND_REVERSED]
    message = order.events.get(type=EventType.REFUND_REVERSED_BY_PROVIDER).message
    assert "the customer did not get it" in message
    assert "removed access (Course access): restore it or leave it removed" in message


def test_staff_restore_the_access_and_the_order_leaves_requires_attention(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)
    snapshot = access_removed(order)
    settle_refund(refund, REVERSED, actor=STRIPE)

    handle_reversed_refund(refund, restore=True, by=world.alice)
    handle_reversed_refund(refund, restore=True, by=world.alice)  # sent again

    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.PENDING
    grants = snapshot.runs.filter(operation=RunOperation.RUN)
    assert grants.count() == 1
    assert reasons(order) == []  # paid minutes ago: its actions have time to finish
    order.refresh_from_db()
    assert not order.refund_reversal_open
    refund.refresh_from_db()
    assert refund.reversal_handled_by == world.alice.email
    handled = order.events.get(type=EventType.REFUND_REVERSAL_HANDLED)
    assert handled.message.endswith("access granted again")


def test_staff_may_leave_the_access_removed(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)
    snapshot = access_removed(order)
    settle_refund(refund, REVERSED, actor=STRIPE)

    handle_reversed_refund(refund, restore=False, by=world.alice)

    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.REVOKED
    assert reasons(order) == []
    handled = order.events.get(type=EventType.REFUND_REVERSAL_HANDLED)
    assert handled.message.endswith("access left removed")


def test_only_a_reversed_refund_can_be_handled(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)

    with pytest.raises(RefundError):
        handle_reversed_refund(refund, restore=True, by=world.alice)


def test_a_fully_refunded_order_returns_to_completed(
    world: factories.World, fake: FakeProvider
) -> None:
    order = factories.order(world, status=OrderStatus.COMPLETED)
    order.completed_at = timezone.now()
    order.save(update_fields=["completed_at"])
    line = order.lines.get()
    refund = refund_order(
        order,
        RefundRequest(amounts={line.pk: line.total_minor}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    assert books(order)[0] == OrderStatus.REFUNDED

    settle_refund(refund, REVERSED, actor=STRIPE)

    assert books(order) == (OrderStatus.COMPLETED, 0, [0], PaymentStatus.SUCCEEDED, 0)


def test_one_of_two_refunds_reversed_leaves_the_other_booked(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    bump = order.lines.exclude(product=world.course).get()
    kept = refund_order(
        order,
        RefundRequest(amounts={bump.pk: bump.total_minor}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    reversed_ = refund_course(order, world)

    settle_refund(reversed_, REVERSED, actor=STRIPE)

    status, refunded, lines, payment, paid_back = books(order)
    assert (status, refunded, payment, paid_back) == (
        OrderStatus.PARTIALLY_REFUNDED,
        kept.amount_minor,
        PaymentStatus.PARTIALLY_REFUNDED,
        kept.amount_minor,
    )
    assert sorted(lines) == [0, bump.total_minor]


HELSINKI = ZoneInfo("Europe/Helsinki")


@pytest.mark.time_machine(dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC), tick=False)
def test_the_report_days_that_counted_it_are_rebuilt(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)
    Refund.objects.filter(pk=refund.pk).update(
        settled_at=dt.datetime(2026, 11, 5, 8, 0, tzinfo=dt.UTC)
    )
    Order.objects.filter(pk=order.pk).update(
        created_at=dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC),
        paid_at=dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC),
    )
    rollups.roll_up(world.checkout)
    scope = Scope(
        frozenset({world.checkout.pk}),
        Period(dt.date(2026, 11, 1), dt.date(2026, 11, 20), HELSINKI),
    )
    counted = Decimal(refund.amount_minor) / 100
    assert headline_figures(scope, Valuation()).refunds == {"EUR": counted}
    assert SalesDay.objects.filter(grain=Grain.REFUND).exists()

    settle_refund(refund, REVERSED, actor=STRIPE)
    fresh = Scope(scope.checkout_ids, scope.period)

    assert headline_figures(fresh, Valuation()).refunds == {}
    assert not SalesDay.objects.filter(grain=Grain.REFUND).exists()
    refund.refresh_from_db()
    assert not refund.rollup_stale
    assert rollups.refresh_stale_refunds() == 0


def test_stripe_failing_a_succeeded_refund_reverses_it_end_to_end(
    sandboxed: factories.World,
) -> None:
    order, attempt, _ = paid_by_stripe(sandboxed)
    line = order.lines.first()
    assert line is not None
    refund = refund_order(
        order,
        RefundRequest(amounts={line.pk: 1000}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    deliveries.deliver_pending()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED

    settle = reverse("sandboxes:stripe-settle", args=[refund.provider_reference])
    assert httpx.post(settings.SITE_URL + settle, data={"outcome": "failed"}).status_code == 200
    sent = deliveries.deliver_pending()

    assert [d.last_status for d in sent] == [200, 200]  # refund.updated, refund.failed
    refund.refresh_from_db()
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert "expired_or_canceled_card" in refund.failure_message
    assert (order.status, order.refunded_minor) == (OrderStatus.COMPLETED, 0)
    assert (attempt.status, attempt.refunded_minor) == (PaymentStatus.SUCCEEDED, 0)
    assert order.refund_reversal_open


def test_a_late_success_does_not_book_a_reversed_refund_again(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    refund = refund_course(order, world)
    settle_refund(refund, REVERSED, actor=STRIPE)
    before = books(order)

    settle_refund(refund, RefundResult("succeeded"), actor=STRIPE)  # refund.updated, late

    assert books(order) == before
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED


def test_reversing_a_refund_never_booked_on_the_lines_takes_nothing_else_off(
    world: factories.World, fake: FakeProvider
) -> None:
    order = factories.order(world)
    line = order.lines.get()
    refund_order(
        order,
        RefundRequest(amounts={line.pk: line.total_minor}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    )
    attempt = order.payment_attempts.get()
    # Made in the dashboard on an order already refunded in full: only the payment learns.
    record_provider_refund(attempt, amount_minor=500, provider_reference="re_extra", actor=STRIPE)
    extra = Refund.objects.get(provider_reference="re_extra")
    before = books(order)
    assert before[:3] == (OrderStatus.REFUNDED, line.total_minor, [line.total_minor])

    settle_refund(extra, REVERSED, actor=STRIPE)

    assert books(order)[:3] == before[:3]
