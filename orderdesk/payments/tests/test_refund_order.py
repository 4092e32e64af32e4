from __future__ import annotations

import datetime as dt
import uuid

import pytest

from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Refund, RefundStatus
from orderdesk.payments.providers.base import ProviderError, RefundResult
from orderdesk.payments.refunds import (
    EPASSI_PARTIAL_MESSAGE,
    MANUAL_MESSAGE,
    RefundError,
    RefundRequest,
    reconcile_pending_refunds,
    refund_order,
)
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, Fakes


def key() -> str:
    return uuid.uuid4().hex


def lines_of(order: Order) -> tuple[OrderLine, OrderLine]:
    course, workbook = order.lines.order_by("position")
    return course, workbook


def paid_order(world: factories.World, **kwargs: object) -> Order:
    return factories.order(world, add_ons=(world.bump,), **kwargs)  # type: ignore[arg-type]


def refund(
    order: Order,
    amounts: dict[int, int],
    *,
    via_provider: bool = True,
    idempotency_key: str | None = None,
    reason: str = "",
    currency: str | None = None,
) -> Refund:
    return refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=via_provider, reason=reason, currency=currency),
        actor=Actor.of_user(order.organization.memberships.get(role="owner").user),
        idempotency_key=key() if idempotency_key is None else idempotency_key,
    ).refund


def test_it_refunds_part_of_one_product_through_the_provider(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, workbook = lines_of(order)

    r = refund(order, {course.pk: 2500, workbook.pk: 0})

    assert r.status == RefundStatus.SUCCEEDED
    assert r.provider_reference == "re_1"
    assert fake.calls == [r.idempotency_key]
    assert [(rl.order_line_id, rl.amount_minor) for rl in r.lines.all()] == [(course.pk, 2500)]
    order.refresh_from_db()
    course.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 2500)
    assert course.refunded_minor == 2500
    attempt = order.payment_attempts.get()
    assert (attempt.status, attempt.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 2500)
    types = list(order.events.values_list("type", flat=True))
    assert EventType.REFUND_REQUESTED in types
    assert EventType.REFUND_SUCCEEDED in types
    requested = order.events.get(type=EventType.REFUND_REQUESTED)
    assert requested.actor_user == world.alice


def test_it_refunds_everything_and_marks_the_order_refunded(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, workbook = lines_of(order)
    refund(order, {course.pk: 1000})

    refund(order, {course.pk: 6900, workbook.pk: 900})

    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.REFUNDED, 8800)
    assert order.payment_attempts.get().status == PaymentStatus.REFUNDED
    assert len(fake.calls) == 2


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ({"course": -1}, "zero or more"),
        ({"course": 7901}, "At most €79.00"),
        ({"course": 0, "workbook": 0}, "at least one product"),
        ({"other": 100}, "not part of this order"),
    ],
)
def test_it_refuses_bad_amounts_and_writes_nothing(
    world: factories.World, fake: FakeProvider, amounts: dict[str, int], message: str
) -> None:
    order = paid_order(world)
    course, workbook = lines_of(order)
    other_line = lines_of(paid_order(world))[0]
    ids = {"course": course.pk, "workbook": workbook.pk, "other": other_line.pk}
    events_before = OrderEvent.objects.count()

    with pytest.raises(RefundError) as caught:
        refund(order, {ids[name]: amount for name, amount in amounts.items()})

    assert message in " ".join(caught.value.field_errors.values())
    assert Refund.objects.count() == 0
    assert OrderEvent.objects.count() == events_before
    assert fake.calls == []
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PAID, 0)


def test_it_refuses_another_currency(world: factories.World, fake: FakeProvider) -> None:
    order = paid_order(world)
    with pytest.raises(RefundError, match="in EUR, not SEK"):
        refund(order, {lines_of(order)[0].pk: 100}, currency="SEK")
    assert Refund.objects.count() == 0


@pytest.mark.parametrize("status", [OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING])
def test_it_refuses_orders_that_were_not_paid(
    world: factories.World, fake: FakeProvider, status: OrderStatus
) -> None:
    order = paid_order(world, status=status)
    with pytest.raises(RefundError, match="cannot be refunded"):
        refund(order, {lines_of(order)[0].pk: 100})
    assert Refund.objects.count() == 0


def test_it_refuses_a_missing_form_key(world: factories.World, fake: FakeProvider) -> None:
    order = paid_order(world)
    with pytest.raises(RefundError, match="expired"):
        refund(order, {lines_of(order)[0].pk: 100}, idempotency_key="")


def test_it_makes_one_refund_when_the_same_form_is_submitted_twice(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, _ = lines_of(order)
    form_key = key()

    first = refund(order, {course.pk: 7900}, idempotency_key=form_key)
    second = refund(order, {course.pk: 7900}, idempotency_key=form_key)

    assert first.pk == second.pk
    assert Refund.objects.count() == 1
    assert len(fake.calls) == 1
    order.refresh_from_db()
    assert order.refunded_minor == 7900


def test_it_counts_pending_refunds_against_the_maximum(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RefundResult("pending", provider_reference="re_pending")
    order = paid_order(world)
    course, _ = lines_of(order)
    pending = refund(order, {course.pk: 7000})
    assert pending.status == RefundStatus.PENDING

    with pytest.raises(RefundError) as caught:
        refund(order, {course.pk: 1000})

    assert "At most €9.00" in caught.value.field_errors[course.pk]

    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PAID, 0)


def test_it_records_the_providers_refusal_and_changes_nothing_else(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = ProviderError("charge_already_refunded", permanent=True, http_status=400)
    order = paid_order(world)
    course, _ = lines_of(order)

    r = refund(order, {course.pk: 7900})

    assert (r.status, r.failure_message) == (RefundStatus.FAILED, "charge_already_refunded")
    order.refresh_from_db()
    course.refresh_from_db()
    assert (order.status, order.refunded_minor, course.refunded_minor) == (OrderStatus.PAID, 0, 0)
    assert order.payment_attempts.get().status == PaymentStatus.SUCCEEDED
    assert order.events.filter(type=EventType.REFUND_FAILED).count() == 1
    # A failed refund holds nothing back: the same amount can be tried again.
    fake.answer = RefundResult("succeeded", provider_reference="re_2")
    assert refund(order, {course.pk: 7900}).status == RefundStatus.SUCCEEDED


def test_it_leaves_a_timed_out_refund_pending_until_reconciled(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = ProviderError("Read timed out", permanent=False)
    order = paid_order(world)
    course, _ = lines_of(order)

    r = refund(order, {course.pk: 7900})

    assert r.status == RefundStatus.PENDING
    assert "timed out" in r.failure_message
    order.refresh_from_db()
    assert order.refunded_minor == 0

    fake.status_answer = RefundResult("succeeded", provider_reference="re_late")
    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 1

    r.refresh_from_db()
    assert (r.status, r.provider_reference) == (RefundStatus.SUCCEEDED, "re_late")
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 7900)
    assert len(fake.calls) == 1


def test_reconciliation_leaves_refunds_pending_while_the_provider_is_unsure(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = ProviderError("502 Bad Gateway", permanent=False, http_status=502)
    fake.status_answer = ProviderError("still down", permanent=False)
    order = paid_order(world)
    r = refund(order, {lines_of(order)[0].pk: 100})

    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 0
    r.refresh_from_db()
    assert r.status == RefundStatus.PENDING


def test_it_keeps_an_unexpected_adapter_crash_pending(
    world: factories.World, fake: FakeProvider
) -> None:
    fake.answer = RuntimeError("boom")
    order = paid_order(world)
    r = refund(order, {lines_of(order)[0].pk: 100})
    assert r.status == RefundStatus.PENDING


def test_it_records_a_partial_epassi_refund_without_calling_epassi(
    world: factories.World, fakes: Fakes
) -> None:
    order = paid_order(world, provider="epassi", method="epassi")
    course, _ = lines_of(order)

    r = refund(order, {course.pk: 7900})

    assert (r.status, r.via_provider) == (RefundStatus.RECORDED, False)
    assert r.recorded_only_reason == EPASSI_PARTIAL_MESSAGE
    assert fakes.epassi.calls == []
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 7900)
    # No money moved through Epassi, so its payment is untouched.
    assert order.payment_attempts.get().status == PaymentStatus.SUCCEEDED
    assert EPASSI_PARTIAL_MESSAGE in order.events.get(type=EventType.REFUND_RECORDED).message


def test_it_refunds_a_full_epassi_payment_through_epassi(
    world: factories.World, fakes: Fakes
) -> None:
    order = paid_order(world, provider="epassi", method="epassi")
    course, workbook = lines_of(order)

    r = refund(order, {course.pk: 7900, workbook.pk: 900})

    assert r.status == RefundStatus.SUCCEEDED
    assert len(fakes.epassi.calls) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.payment_attempts.get().status == PaymentStatus.REFUNDED


def test_it_records_manual_payments_with_the_next_step(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world, provider="manual", method="invoice")
    course, workbook = lines_of(order)

    r = refund(order, {course.pk: 7900, workbook.pk: 900})

    assert (r.status, r.recorded_only_reason) == (RefundStatus.RECORDED, MANUAL_MESSAGE)
    assert fake.calls == []
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_it_only_records_when_refund_payments_is_unchecked(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, _ = lines_of(order)

    r = refund(order, {course.pk: 500}, via_provider=False, reason="Refunded by bank transfer")

    assert (r.status, r.reason) == (RefundStatus.RECORDED, "Refunded by bank transfer")
    assert "unchecked" in r.recorded_only_reason
    assert fake.calls == []
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 500)
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.status, attempt.refunded_minor) == (PaymentStatus.SUCCEEDED, 0)


def test_it_refuses_to_refund_through_the_provider_more_than_the_payment_has_left(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, _ = lines_of(order)
    PaymentAttempt.objects.filter(order=order).update(refunded_minor=8000)

    with pytest.raises(RefundError, match="uncheck"):
        refund(order, {course.pk: 7900})
    assert fake.calls == []


def test_the_reconcile_command_settles_pending_refunds(
    world: factories.World, fake: FakeProvider
) -> None:
    from io import StringIO

    from django.core.management import call_command

    from orderdesk.payments.refunds import reconcile_pending_refunds

    fake.answer = ProviderError("timeout", permanent=False)
    order = paid_order(world)
    r = refund(order, {lines_of(order)[0].pk: 100})
    fake.status_answer = RefundResult("failed", message="No such refund")
    assert reconcile_pending_refunds() == 0  # too young: its call may still be in flight

    out = StringIO()
    call_command("reconcile_refunds", "--older-than", "0", stdout=out)

    assert out.getvalue().strip() == "1 refund(s) settled"
    r.refresh_from_db()
    assert (r.status, r.failure_message) == (RefundStatus.FAILED, "No such refund")
