from __future__ import annotations

import uuid
from collections.abc import Collection

import pytest

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunOperation, RunStatus
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order
from orderdesk.payments.providers.base import ProviderError, RefundResult
from orderdesk.payments.refunds import RefundError, RefundRequest, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider


def snapshot(
    order: Order, level: str, kind: str = ActionKind.KAJABI_GRANT, **kw: object
) -> ActionSnapshot:
    return ActionSnapshot.objects.create(
        order=order,
        level=level,
        kind=kind,
        status="succeeded",
        name=f"{level} {kind}",
        **kw,
    )


@pytest.fixture
def order(world: factories.World) -> Order:
    o = factories.order(world, add_ons=(world.bump,))
    snapshot(o, ActionLevel.PRODUCT, product=world.course)
    snapshot(o, ActionLevel.PRODUCT, product=world.workbook)
    snapshot(o, ActionLevel.OFFER)
    snapshot(o, ActionLevel.CHECKOUT)
    snapshot(o, ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT)
    return o


def refund(
    order: Order,
    amounts: dict[int, int],
    *,
    via_provider: bool = True,
    remove_access_line_ids: Collection[int] = (),
    remove_offer_access: bool = False,
) -> None:
    refund_order(
        order,
        RefundRequest(
            amounts=amounts,
            via_provider=via_provider,
            remove_access_line_ids=frozenset(remove_access_line_ids),
            remove_offer_access=remove_offer_access,
        ),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    )


def revoked(order: Order) -> list[str]:
    runs = ActionRun.objects.filter(snapshot__order=order, operation=RunOperation.REVOKE)
    assert all(run.status == RunStatus.QUEUED for run in runs)
    return sorted(run.snapshot.name for run in runs)


def test_remove_access_revokes_the_products_kajabi_grant(order: Order, fake: FakeProvider) -> None:
    course, _ = order.lines.order_by("position")
    refund(order, {course.pk: 7900}, remove_access_line_ids=[course.pk])
    assert revoked(order) == ["product kajabi_grant"]
    assert ActionRun.objects.get().snapshot.product_id == course.product_id
    assert order.events.filter(type=EventType.ACCESS_REVOKED).count() == 1


def test_remove_offer_access_revokes_offer_and_checkout_grants(
    order: Order, fake: FakeProvider
) -> None:
    _, workbook = order.lines.order_by("position")
    refund(order, {workbook.pk: 100}, remove_offer_access=True)
    assert revoked(order) == ["checkout kajabi_grant", "offer kajabi_grant"]


def test_it_refuses_remove_access_for_a_partial_product_refund(
    order: Order, fake: FakeProvider
) -> None:
    course, _ = order.lines.order_by("position")
    with pytest.raises(RefundError) as caught:
        refund(order, {course.pk: 7800}, remove_access_line_ids=[course.pk])
    assert "full price" in caught.value.field_errors[course.pk]
    assert revoked(order) == []


def test_it_refuses_remove_offer_access_without_offer_grants(
    world: factories.World, fake: FakeProvider
) -> None:
    plain = factories.order(world)
    line = plain.lines.get()
    with pytest.raises(RefundError, match="no offer access"):
        refund(plain, {line.pk: 100}, remove_offer_access=True)


def test_access_stays_while_the_refund_is_pending_or_failed(
    order: Order, fake: FakeProvider
) -> None:
    course, workbook = order.lines.order_by("position")
    fake.answer = RefundResult("pending")
    refund(order, {course.pk: 7900}, remove_access_line_ids=[course.pk])
    fake.answer = ProviderError("declined", permanent=True)
    refund(
        order, {workbook.pk: 900}, remove_access_line_ids=[workbook.pk], remove_offer_access=True
    )
    assert revoked(order) == []


def test_a_recorded_refund_removes_access_too(order: Order, fake: FakeProvider) -> None:
    course, _ = order.lines.order_by("position")
    refund(order, {course.pk: 7900}, remove_access_line_ids=[course.pk], via_provider=False)
    assert revoked(order) == ["product kajabi_grant"]
