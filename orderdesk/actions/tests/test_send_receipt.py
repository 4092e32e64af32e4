"""Sending the receipt of an order whose checkout sends none (issue 14): it becomes the order's
receipt action, once per key, in the language staff choose."""

from __future__ import annotations

import pytest
from django.core import mail

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunOperation, SnapshotStatus
from orderdesk.actions.services import (
    ReceiptRefused,
    can_send_receipt,
    receipt_preview,
    run_action,
    send_receipt,
)
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActionHealth, OrderStatus
from orderdesk.testing import factories

pytestmark = pytest.mark.django_db


def test_a_paid_order_without_a_receipt_action_is_sent_one_once_per_key(
    world: factories.World,
) -> None:
    order = factories.order(world, email="aino@example.com", status=OrderStatus.COMPLETED)

    first = send_receipt(order, language="fi", key="receipt-key-1", by=world.sam)
    again = send_receipt(order, language="fi", key="receipt-key-1", by=world.sam)
    assert first is not None
    run_action(first.pk)

    assert again is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["aino@example.com"]
    assert mail.outbox[0].subject == f"Kuittisi tilauksesta #{order.number}"
    snapshot = ActionSnapshot.objects.get(order=order)
    assert (snapshot.kind, snapshot.level, snapshot.config) == (
        ActionKind.SEND_RECEIPT,
        ActionLevel.CHECKOUT,
        None,
    )
    assert snapshot.status == SnapshotStatus.SUCCEEDED
    assert ActionRun.objects.get().operation == RunOperation.RUN
    requested = order.events.get(type=EventType.EMAIL_RESEND_REQUESTED)
    assert requested.actor_label == "sam@example.com"
    assert (
        requested.message
        == "Receipt requested: Send receipt email (checkout level) to aino@example.com"
    )
    order.refresh_from_db()
    assert (order.status, order.action_health) == (OrderStatus.COMPLETED, ActionHealth.SUCCEEDED)


def test_once_sent_it_is_resent_as_its_action_not_sent_again(world: factories.World) -> None:
    order = factories.order(world)
    run = send_receipt(order, language="en", key="receipt-key-1", by=world.sam)
    assert run is not None

    other_key = send_receipt(order, language="en", key="receipt-key-2", by=world.sam)

    assert other_key is None
    assert not can_send_receipt(order, order.action_snapshots.all())
    assert ActionSnapshot.objects.filter(order=order).count() == 1


def test_an_order_with_a_receipt_action_or_unpaid_gets_none(world: factories.World) -> None:
    with_action = factories.order(world)
    email_action(with_action)
    unpaid = factories.order(world, status=OrderStatus.PROCESSING)

    assert send_receipt(with_action, language="en", key="receipt-key-1", by=world.sam) is None
    with pytest.raises(ReceiptRefused):
        send_receipt(unpaid, language="en", key="receipt-key-1", by=world.sam)

    assert not ActionRun.objects.exists()
    assert ActionSnapshot.objects.filter(order=unpaid).count() == 0


def test_a_receipt_action_switched_off_still_says_how_receipts_look(
    world: factories.World,
) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        is_active=False,
        settings={"subject": "Kiitos! Tilaus $order_number", "language": "en"},
    )
    order = factories.order(world)

    preview = receipt_preview(order, language="sv")

    assert preview.subject == f"Kiitos! Tilaus {order.number}"
    assert "Totalt: " in preview.body


def test_a_paid_order_waits_for_its_receipt_before_it_completes(world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.PAID)

    run = send_receipt(order, language="en", key="receipt-key-1", by=world.sam)
    order.refresh_from_db()
    assert run is not None
    assert order.action_health == ActionHealth.PENDING
    run_action(run.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
