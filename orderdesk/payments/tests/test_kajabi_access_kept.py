"""Kajabi access a refund asked to remove stays while another order of the customer grants the
same offer (issue 12, finding 6): Kajabi's deactivation removes the whole offer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunOperation, SnapshotStatus
from orderdesk.actions.services import access_kept_by, run_action
from orderdesk.actions.tests.conftest import Answer, answer
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.refunds import RefundRequest, refund_options, refund_order
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes
from orderdesk.web.tests.test_refund_dialog import HTMX, client_for, url

__all__ = ["answer", "fake", "fakes"]

OFFER = "https://checkout.newkajabi.com/webhooks/offers/AbC123/4567"


def granted(order: Order, offer: str = OFFER, level: str = ActionLevel.OFFER) -> ActionSnapshot:
    """A Kajabi grant of `offer` that the order's payment made."""
    return ActionSnapshot.objects.create(
        order=order,
        level=level,
        kind=ActionKind.KAJABI_GRANT,
        status=SnapshotStatus.SUCCEEDED,
        name="Masterclass offer",
        settings={
            "activation_url": f"{offer}/activate?send_offer_grant_email=true",
            "deactivation_url": f"{offer}/deactivate",
        },
    )


def refund_all(order: Order) -> None:
    refund_order(
        order,
        RefundRequest(
            amounts={line.pk: line.total_minor for line in order.lines.all()},
            via_provider=True,
            remove_offer_access=True,
        ),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    )


def revoke_runs(order: Order) -> list[ActionRun]:
    return list(ActionRun.objects.filter(snapshot__order=order, operation=RunOperation.REVOKE))


@pytest.fixture
def two_orders(world: factories.World) -> tuple[Order, Order]:
    """The same customer bought the same Kajabi offer twice (the email in other case)."""
    first = factories.order(world, email="maija@example.com")
    second = factories.order(world, email="Maija@Example.com")
    granted(first)
    granted(second)
    return first, second


def test_refunding_one_of_two_orders_keeps_the_access_the_other_paid_for(
    two_orders: tuple[Order, Order], fake: FakeProvider
) -> None:
    first, second = two_orders

    refund_all(first)

    assert revoke_runs(first) == []
    first.refresh_from_db()
    assert first.status == OrderStatus.REFUNDED
    [grant] = first.action_snapshots.all()
    assert grant.status == SnapshotStatus.REVOKED  # this order no longer grants it
    [event] = first.events.filter(type=EventType.ACCESS_KEPT)
    assert f"order #{second.number} of the same customer" in event.message
    assert event.data["kept_by_order"] == second.number

    # The second order's refund finds nothing else granting the offer: the access goes.
    refund_all(second)

    [run] = revoke_runs(second)
    assert run.snapshot.order_id == second.pk


@pytest.mark.parametrize(
    "other",
    ["refunded", "another offer", "another customer", "not granted", "unpaid"],
)
def test_only_a_paid_unrefunded_grant_of_the_same_offer_and_customer_keeps_it(
    world: factories.World, fake: FakeProvider, other: str
) -> None:
    first = factories.order(world, email="maija@example.com")
    granted(first)
    second = factories.order(
        world,
        email="someone@example.com" if other == "another customer" else "maija@example.com",
        status={"refunded": OrderStatus.REFUNDED, "unpaid": OrderStatus.IN_PROGRESS}.get(
            other, OrderStatus.PAID
        ),
    )
    grant = granted(second, offer=f"{OFFER}9" if other == "another offer" else OFFER)
    if other == "not granted":
        ActionSnapshot.objects.filter(pk=grant.pk).update(status=SnapshotStatus.FAILED)

    refund_all(first)

    assert len(revoke_runs(first)) == 1
    assert not first.events.filter(type=EventType.ACCESS_KEPT).exists()


def test_a_removal_queued_before_the_customer_bought_again_is_not_sent(
    world: factories.World, fake: FakeProvider, answer: Answer
) -> None:
    first = factories.order(world, email="maija@example.com")
    granted(first)
    refund_all(first)
    [run] = revoke_runs(first)
    # Meanwhile the customer bought the offer again, and that grant went through.
    granted(factories.order(world, email="maija@example.com"))
    sent = answer(httpx.Response(200, json={"status": "revoked"}))

    run_action(run.pk)

    assert sent == []
    [grant] = first.action_snapshots.all()
    assert grant.status == SnapshotStatus.REVOKED
    assert first.events.filter(type=EventType.ACCESS_KEPT).count() == 1


def test_the_refund_dialog_says_why_access_stays(
    world: factories.World, two_orders: tuple[Order, Order], fake: FakeProvider
) -> None:
    first, second = two_orders
    options = refund_options(first)
    assert {pk: o.number for pk, o in options.access_kept.items()} == {
        first.action_snapshots.get().pk: second.number
    }
    assert access_kept_by(second.action_snapshots.all()) == {
        second.action_snapshots.get().pk: first
    }

    html = client_for(world.sam).get(url(first), headers=HTMX).content.decode()

    assert (
        f"Masterclass offer stays: order #{second.number} of this customer also grants it" in html
    )


def test_a_product_grant_kept_is_named_under_its_remove_access(
    world: factories.World, fake: FakeProvider, settings: Any
) -> None:
    first = factories.order(world, email="maija@example.com")
    second = factories.order(world, email="maija@example.com")
    for order in (first, second):
        granted(order, level=ActionLevel.PRODUCT).__class__.objects.filter(order=order).update(
            product=world.course
        )

    html = client_for(world.sam).get(url(first), headers=HTMX).content.decode()

    assert html.count("data-access-kept") == 1
    assert f"order #{second.number} of this customer" in html


def test_the_same_offer_is_recognised_whatever_query_its_urls_carry(
    world: factories.World, fake: FakeProvider
) -> None:
    first = factories.order(world, email="maija@example.com")
    granted(first)
    second = factories.order(world, email="maija@example.com")
    ActionSnapshot.objects.create(
        order=second,
        level=ActionLevel.OFFER,
        kind=ActionKind.KAJABI_GRANT,
        status=SnapshotStatus.SUCCEEDED,
        name="Masterclass (no grant email)",
        settings={"activation_url": f"{OFFER}/activate"},
    )
    ActionSnapshot.objects.filter(order=first).update(
        settings={"activation_url": f"{OFFER}/activate?send_offer_grant_email=true"}
    )

    refund_all(first)

    assert revoke_runs(first) == []
    assert first.events.filter(type=EventType.ACCESS_KEPT).count() == 1
