"""Every pending refund has a way to be settled, per provider (issue 13, findings 2 and 3).

Stripe is asked ("Check now", the worker); Paytrail is asked once it named the refund's
transaction; Epassi, and Paytrail refunds whose answer never came, are confirmed by staff
after looking in the provider's own service. A failed refund frees its lines and changes
nothing else. Real adapters against the sandboxes over HTTP.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import httpx
import pytest
from django.conf import settings
from django.db import connection, connections

from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentStatus, Refund, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import (
    Outcome,
    RefundError,
    RefundRequest,
    check_refund,
    confirm_refund,
    reconcile_pending_refunds,
    refund_notice,
    refund_options,
    refund_order,
)
from orderdesk.payments.tests.conftest import wait_for_stalled_sandbox
from orderdesk.payments.tests.test_epassi_sandbox import paid_by_epassi
from orderdesk.payments.tests.test_paytrail_sandbox import paid_by_paytrail
from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
from orderdesk.sandboxes import deliveries, store
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.testing.fake_providers import FakeProvider, Fakes

PENDING = RefundResult("pending", message="no answer")


def refund(order: Order, amount: int) -> Refund:
    line = order.lines.get()
    return refund_order(
        order,
        RefundRequest(amounts={line.pk: amount}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def books(order: Order) -> tuple[str, int, int, str, int]:
    """The order's status and refunded total, its line's, and its payment's."""
    order.refresh_from_db()
    line = order.lines.get()
    attempt = order.payment_attempts.get()
    return (
        order.status,
        order.refunded_minor,
        line.refunded_minor,
        attempt.status,
        attempt.refunded_minor,
    )


def line_max(order: Order) -> int:
    order.refresh_from_db()
    return refund_options(order).lines[0].max_minor


UNTOUCHED = (OrderStatus.COMPLETED, 0, 0, PaymentStatus.SUCCEEDED, 0)


def test_stripe_check_now_fails_a_refund_stripe_never_made_and_frees_its_line(
    sandboxed: World,
) -> None:
    order, _, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "500")

    r = refund(order, 2500)
    notice = refund_notice(r)
    assert (notice.outcome, notice.tone, notice.can_check) == (Outcome.PENDING, "info", True)
    assert "checking with Stripe" in notice.message
    assert line_max(order) == 7900 - 2500  # held while pending

    r = check_refund(r)

    assert r.status == RefundStatus.FAILED
    notice = refund_notice(r)
    assert (notice.outcome, notice.tone) == (Outcome.FAILED, "error")
    assert notice.message == (
        "Refund of €25.00 failed: Stripe has no refund for this request. No money was returned"
        " and nothing else changed: its products can be refunded again."
    )
    assert books(order) == UNTOUCHED
    assert line_max(order) == 7900
    # A second click answers with the refund as it is and asks nobody.
    assert check_refund(r).status == RefundStatus.FAILED
    assert refund(order, 2500).status == RefundStatus.SUCCEEDED


def test_stripe_check_now_books_a_refund_stripe_made_after_a_timeout(sandboxed: World) -> None:
    order, _, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "timeout")
    r = refund(order, 2500)
    wait_for_stalled_sandbox()
    assert r.status == RefundStatus.PENDING

    r = check_refund(r)

    assert r.status == RefundStatus.SUCCEEDED
    assert refund_notice(r).message == "Refund of €25.00 succeeded through Stripe."
    assert books(order) == (
        OrderStatus.PARTIALLY_REFUNDED,
        2500,
        2500,
        PaymentStatus.PARTIALLY_REFUNDED,
        2500,
    )
    with pytest.raises(RefundError, match="use “Check now” instead"):
        confirm_refund(
            Refund.objects.create(
                order=order,
                payment_attempt=order.payment_attempts.get(),
                amount_minor=100,
                currency="EUR",
                idempotency_key=uuid.uuid4().hex,
            ),
            refunded=True,
            actor=Actor.of_user(sandboxed.sam),
        )


def test_paytrail_check_now_asks_about_the_refund_transaction_it_named(
    sandboxed: World,
) -> None:
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", "pending")
    r = refund(order, 2500)
    assert (r.status, refund_notice(r).can_check) == (RefundStatus.PENDING, True)

    assert check_refund(r).status == RefundStatus.PENDING  # Paytrail still says pending
    httpx.post(
        f"{settings.PAYTRAIL_API_BASE}/refunds/{r.provider_reference}/settle/",
        data={"outcome": "ok"},
    ).raise_for_status()
    r = check_refund(r)

    assert r.status == RefundStatus.SUCCEEDED
    assert books(order)[1:3] == (2500, 2500)
    deliveries.deliver_pending()  # the callback that follows changes nothing more
    assert books(order)[1:3] == (2500, 2500)


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_paytrail_without_an_answer_is_confirmed_by_staff(sandboxed: World, fault: str) -> None:
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", fault)
    r = refund(order, 2500)
    if fault == "timeout":
        wait_for_stalled_sandbox()
    notice = refund_notice(r)
    assert (notice.outcome, notice.can_check, notice.can_confirm) == (Outcome.PENDING, False, True)
    assert "Look the payment up in Paytrail's own service" in notice.message
    with pytest.raises(RefundError, match="Paytrail cannot be asked"):
        check_refund(r)
    # The worker leaves it to staff instead of asking every five minutes.
    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 0

    # After a 500 Paytrail made nothing; after a timeout it did return the money.
    made = fault == "timeout"
    r = confirm_refund(r, refunded=made, actor=Actor.of_user(sandboxed.sam))

    event = order.events.filter(type__in=[EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED])
    assert [(e.actor_label, e.message) for e in event] == [
        (
            "sam@example.com",
            "Refund of €25.00: sam@example.com confirmed that Paytrail returned the money"
            if made
            else "Refund of €25.00 failed: sam@example.com confirmed that Paytrail did not"
            " return the money; its products can be refunded again",
        )
    ]
    if made:
        assert r.status == RefundStatus.SUCCEEDED
        assert books(order) == (
            OrderStatus.PARTIALLY_REFUNDED,
            2500,
            2500,
            PaymentStatus.PARTIALLY_REFUNDED,
            2500,
        )
    else:
        assert r.status == RefundStatus.FAILED
        assert books(order) == UNTOUCHED
        assert line_max(order) == 7900


def test_epassi_refund_without_an_answer_is_confirmed_by_staff(sandboxed: World) -> None:
    order, _, _ = paid_by_epassi(sandboxed)
    store.add_fault("epassi", "cancel", "timeout")
    r = refund(order, order.total_minor)
    wait_for_stalled_sandbox()
    assert (r.status, refund_notice(r).can_confirm) == (RefundStatus.PENDING, True)
    assert line_max(order) == 0
    assert store.find("epassi", "payment")[0]["status"] == "refunded"  # the money went back

    r = confirm_refund(r, refunded=True, actor=Actor.of_user(sandboxed.sam))

    assert r.status == RefundStatus.SUCCEEDED
    assert books(order) == (OrderStatus.REFUNDED, 7900, 7900, PaymentStatus.REFUNDED, 7900)
    # The same confirmation again changes nothing; the contrary one is refused.
    confirm_refund(r, refunded=True, actor=Actor.of_user(sandboxed.alice))
    with pytest.raises(RefundError, match="no longer pending: it is succeeded"):
        confirm_refund(r, refunded=False, actor=Actor.of_user(sandboxed.alice))
    assert books(order) == (OrderStatus.REFUNDED, 7900, 7900, PaymentStatus.REFUNDED, 7900)
    assert order.events.filter(type=EventType.REFUND_SUCCEEDED).count() == 1


def test_epassi_500_confirmed_not_refunded_frees_the_order_to_refund_again(
    sandboxed: World,
) -> None:
    order, _, _ = paid_by_epassi(sandboxed)
    store.add_fault("epassi", "cancel", "500")
    r = refund(order, order.total_minor)
    assert r.status == RefundStatus.PENDING

    r = confirm_refund(r, refunded=False, actor=Actor.of_user(sandboxed.sam))

    assert r.failure_message == "Epassi did not refund it, confirmed by sam@example.com"
    assert books(order) == UNTOUCHED
    assert refund(order, order.total_minor).status == RefundStatus.SUCCEEDED
    assert books(order) == (OrderStatus.REFUNDED, 7900, 7900, PaymentStatus.REFUNDED, 7900)


def test_the_worker_asks_only_providers_that_can_answer(
    world: World, fakes: Fakes, fake: FakeProvider
) -> None:
    stripe = factories.order(world)
    epassi = factories.order(world, provider="epassi", method="epassi")
    fake.answer = fakes.epassi.answer = PENDING
    stripe_refund = refund(stripe, 1000)
    epassi_refund = refund(epassi, epassi.total_minor)
    assert {stripe_refund.status, epassi_refund.status} == {RefundStatus.PENDING}
    fakes.epassi.checkable = False

    assert reconcile_pending_refunds(older_than=dt.timedelta(0)) == 1

    assert fake.status_calls == [stripe_refund.idempotency_key]
    assert fakes.epassi.status_calls == []
    epassi_refund.refresh_from_db()
    assert epassi_refund.status == RefundStatus.PENDING


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_staff_confirming_at_once_book_the_refund_once(world: World, fakes: Fakes) -> None:
    order = factories.order(world, provider="epassi", method="epassi")
    fakes.epassi.answer = PENDING
    fakes.epassi.checkable = False
    r = refund(order, order.total_minor)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def staff_member(refunded: bool) -> None:
        try:
            start.wait()
            settled = confirm_refund(r, refunded=refunded, actor=Actor.of_user(world.sam))
            outcomes.append(settled.status)
        except RefundError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=staff_member, args=(i < 4,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    r.refresh_from_db()
    assert r.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
    assert outcomes.count(r.status) == (4 if r.status == RefundStatus.SUCCEEDED else 2)
    assert all("no longer pending" in o for o in outcomes if o != r.status), outcomes
    order.refresh_from_db()
    booked = 7900 if r.status == RefundStatus.SUCCEEDED else 0
    assert order.refunded_minor == booked
    assert (
        order.events.filter(type__in=[EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED]).count()
        == 1
    )
