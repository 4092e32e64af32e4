"""Resending an email action's email (issue 14): preview, once per key, through the runs."""

from __future__ import annotations

import pytest
from django.core import mail

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunOperation, SnapshotStatus
from orderdesk.actions.services import can_resend, email_preview, resend_email, run_action
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import EventType
from orderdesk.orders.models import Order
from orderdesk.testing import factories

pytestmark = pytest.mark.django_db


def email_action(
    order: Order, kind: str = ActionKind.SEND_RECEIPT, **settings: str
) -> ActionSnapshot:
    return ActionSnapshot.objects.create(
        order=order,
        level=ActionLevel.CHECKOUT,
        kind=kind,
        name="Receipt",
        settings=settings,
        status=SnapshotStatus.SUCCEEDED,
    )


def test_the_preview_is_the_email_as_it_would_go_now(world: factories.World) -> None:
    order = factories.order(world, email="aino@example.com")
    snapshot = email_action(order)

    preview = email_preview(snapshot)

    assert preview.to == "aino@example.com"
    assert preview.subject == f"Your receipt for order #{order.number}"
    assert "Photography Masterclass" in preview.body
    assert preview.error == ""


def test_a_custom_email_without_a_body_cannot_be_previewed(world: factories.World) -> None:
    snapshot = email_action(factories.order(world), ActionKind.CUSTOM_EMAIL, subject="Hi")

    assert email_preview(snapshot).error == "The custom email has no subject or body"


def test_a_resend_sends_once_per_key_and_leaves_the_action_succeeded(
    world: factories.World,
) -> None:
    order = factories.order(world, email="aino@example.com")
    snapshot = email_action(order)

    first = resend_email(snapshot, key="key-000001", by=world.sam)
    again = resend_email(snapshot, key="key-000001", by=world.sam)
    assert first is not None
    run_action(first.pk)
    replay_after_sending = resend_email(snapshot, key="key-000001", by=world.sam)

    assert again is None
    assert replay_after_sending is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["aino@example.com"]
    assert f".resend-{first.pk}@" in message.extra_headers["Message-ID"]
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.SUCCEEDED
    assert ActionRun.objects.get().operation == RunOperation.RESEND
    types = list(order.events.values_list("type", "actor_label"))
    assert (EventType.EMAIL_RESEND_REQUESTED, "sam@example.com") in types
    assert (EventType.EMAIL_RESENT, "System") in types


def test_a_new_key_sends_again(world: factories.World) -> None:
    snapshot = email_action(factories.order(world))

    for key in ("key-000001", "key-000002"):
        run = resend_email(snapshot, key=key, by=world.sam)
        assert run is not None
        run_action(run.pk)

    assert len(mail.outbox) == 2


def test_only_a_succeeded_email_action_is_resent(world: factories.World) -> None:
    order = factories.order(world)
    kajabi = factories.failed_kajabi_action(world, order)
    failed_receipt = email_action(order)
    ActionSnapshot.objects.filter(pk=failed_receipt.pk).update(status=SnapshotStatus.FAILED)
    failed_receipt.refresh_from_db()

    assert not can_resend(kajabi)
    assert not can_resend(failed_receipt)
    assert resend_email(failed_receipt, key="key-000003", by=world.sam) is None
    assert not ActionRun.objects.exists()
