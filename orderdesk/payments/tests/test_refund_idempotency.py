"""One idempotency key, one refund: the same request replays it, any other is refused.

The rule lives in the service, so the web dialog and the API answer alike
(web/tests/test_refund_dialog.py, api/tests/test_staff_api.py).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from orderdesk.actions.models import ActionSnapshot
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundLine, RefundStatus
from orderdesk.payments.refunds import (
    RefundAnswer,
    RefundError,
    RefundKeyReused,
    RefundRequest,
    refund_order,
)
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.testing.fake_providers import FakeProvider


@pytest.fixture
def order(world: factories.World) -> Order:
    o = factories.order(world, add_ons=(world.bump,))
    ActionSnapshot.objects.create(
        order=o, level=ActionLevel.OFFER, kind=ActionKind.KAJABI_GRANT, name="Offer grant"
    )
    return o


def lines(order: Order) -> tuple[int, int]:
    course, workbook = order.lines.order_by("position").values_list("pk", flat=True)
    return course, workbook


def send(order: Order, request: RefundRequest, key: str) -> RefundAnswer:
    return refund_order(order, request, actor=Actor.system(), idempotency_key=key)


def everything() -> dict[str, Any]:
    return {
        **database_state(),
        "Refund": list(Refund.objects.order_by("pk").values()),
        "RefundLine": list(RefundLine.objects.order_by("pk").values()),
    }


def test_the_same_request_again_answers_with_the_first_refund_as_a_replay(
    order: Order, fake: FakeProvider
) -> None:
    course, _ = lines(order)
    request = RefundRequest(amounts={course: 2500}, via_provider=True)
    key = uuid.uuid4().hex

    first = send(order, request, key)
    again = send(order, request, key)

    assert (first.replayed, again.replayed) == (False, True)
    assert first.refund.pk == again.refund.pk
    assert len(fake.calls) == 1
    assert Refund.objects.count() == 1


def test_it_keeps_what_was_asked_for_on_the_refund(order: Order, fake: FakeProvider) -> None:
    course, workbook = lines(order)
    request = RefundRequest(
        amounts={course: 7900, workbook: 0},
        via_provider=True,
        remove_access_line_ids=frozenset({course}),
        remove_offer_access=True,
        currency="eur",
    )

    made = send(order, request, uuid.uuid4().hex).refund

    made.refresh_from_db()
    assert made.request_fingerprint == {
        "lines": {str(course): [7900, True]},
        "via_provider": True,
        "remove_offer_access": True,
        "currency": "EUR",
    }


def test_another_reason_is_still_the_same_request(order: Order, fake: FakeProvider) -> None:
    course, _ = lines(order)
    key = uuid.uuid4().hex
    send(order, RefundRequest(amounts={course: 2500}, via_provider=True, reason="Asked"), key)

    again = send(
        order, RefundRequest(amounts={course: 2500}, via_provider=True, reason="Asked twice"), key
    )

    assert again.replayed
    assert again.refund.reason == "Asked"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c, w: {"amounts": {c: 3000}}, id="another amount"),
        pytest.param(lambda c, w: {"amounts": {w: 2500}}, id="another line"),
        pytest.param(lambda c, w: {"amounts": {c: 2500, w: 100}}, id="one more line"),
        pytest.param(lambda c, w: {"via_provider": False}, id="record only"),
        pytest.param(lambda c, w: {"remove_offer_access": True}, id="remove offer access"),
        pytest.param(lambda c, w: {"currency": "EUR"}, id="a currency named"),
    ],
)
def test_the_same_key_with_another_request_is_refused_and_writes_nothing(
    order: Order, fake: FakeProvider, change: Any
) -> None:
    course, workbook = lines(order)
    first = RefundRequest(amounts={course: 2500}, via_provider=True)
    key = uuid.uuid4().hex
    made = send(order, first, key).refund
    before = everything()

    with pytest.raises(RefundKeyReused) as refused:
        send(order, replace(first, **change(course, workbook)), key)

    assert (refused.value.refund.pk, refused.value.key) == (made.pk, key)
    assert everything() == before
    assert len(fake.calls) == 1


def test_remove_access_asked_for_the_second_time_only_is_another_request(
    order: Order, fake: FakeProvider
) -> None:
    course, _ = lines(order)
    key = uuid.uuid4().hex
    send(order, RefundRequest(amounts={course: 7900}, via_provider=True), key)

    with pytest.raises(RefundKeyReused):
        send(
            order,
            RefundRequest(
                amounts={course: 7900},
                via_provider=True,
                remove_access_line_ids=frozenset({course}),
            ),
            key,
        )


def test_a_replay_is_answered_even_once_the_order_is_refunded(
    order: Order, fake: FakeProvider
) -> None:
    # The key is looked at before the order: the first request made the order Refunded.
    course, workbook = lines(order)
    everything_back = RefundRequest(amounts={course: 7900, workbook: 900}, via_provider=True)
    key = uuid.uuid4().hex
    send(order, everything_back, key)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED

    assert send(order, everything_back, key).replayed
    with pytest.raises(RefundKeyReused):
        send(order, RefundRequest(amounts={course: 7900}, via_provider=True), key)
    with pytest.raises(RefundError, match="cannot be refunded"):
        send(order, everything_back, uuid.uuid4().hex)


def test_a_recorded_only_route_replays_what_was_asked_not_what_was_done(
    world: factories.World, fake: FakeProvider
) -> None:
    # "Refund payments" was checked, but a manual payment can only be recorded: the refund
    # says via_provider=False. The same request again is still the same request.
    manual = factories.order(world, provider="manual", method="invoice")
    request = RefundRequest(amounts={manual.lines.get().pk: 1000}, via_provider=True)
    key = uuid.uuid4().hex

    first = send(manual, request, key)
    assert (first.refund.status, first.refund.via_provider) == (RefundStatus.RECORDED, False)

    assert send(manual, request, key).replayed


def test_a_refund_from_before_fingerprints_is_compared_by_its_rows(
    order: Order, fake: FakeProvider
) -> None:
    course, _ = lines(order)
    request = RefundRequest(
        amounts={course: 7900}, via_provider=True, remove_access_line_ids=frozenset({course})
    )
    key = uuid.uuid4().hex
    send(order, request, key)
    Refund.objects.update(request_fingerprint=None)

    assert send(order, request, key).replayed
    assert send(order, replace(request, currency="EUR"), key).replayed
    with pytest.raises(RefundKeyReused):
        send(order, RefundRequest(amounts={course: 7900}, via_provider=True), key)


def test_a_key_only_replays_refunds_of_its_own_order(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    other = factories.order(world)
    key = uuid.uuid4().hex
    course, _ = lines(order)
    send(order, RefundRequest(amounts={course: 100}, via_provider=True), key)

    answer = send(other, RefundRequest(amounts={other.lines.get().pk: 100}, via_provider=True), key)

    assert not answer.replayed
    assert Refund.objects.count() == 2
