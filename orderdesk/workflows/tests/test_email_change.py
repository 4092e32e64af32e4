"""Correcting a buyer's email end to end (issue 14): the address, the Kajabi access moved
through the action runs (against the Kajabi sandbox), the timeline and the receipt."""

from __future__ import annotations

import pytest
from django.core import mail

from orderdesk.actions.kinds.kajabi import external_user_id
from orderdesk.actions.models import ActionRun, RunOperation, SnapshotStatus
from orderdesk.actions.services import can_resend, email_preview, resend_email
from orderdesk.actions.tests.builders import kajabi, paid_order, run_queued
from orderdesk.actions.tests.conftest import sandboxes
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.orders.events import Actor, EventType
from orderdesk.sandboxes.models import SandboxKajabiGrant
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.workflows.email_change import EmailChangeForm, SameEmail, change_customer_email

__all__ = ["sandboxes"]

OLD, NEW = "aino@exmaple.com", "aino@example.com"


def test_the_form_lower_cases_and_refuses_what_is_not_an_address() -> None:
    good = EmailChangeForm({"email": " Aino@Example.COM "})
    bad = EmailChangeForm({"email": "aino@"})

    assert good.is_valid()
    assert good.cleaned_data["email"] == "aino@example.com"
    assert bad.messages() == {"email": "Give a whole email address, like anna@example.com."}


def test_access_moves_from_the_old_address_to_the_new(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world, email=OLD)
    run_queued(order)
    assert SandboxKajabiGrant.objects.get().email == OLD

    change = change_customer_email(order, NEW, resend_receipt=False, actor=Actor.of_user(world.sam))
    run_queued(order)

    assert change.order.customer_email == NEW
    assert sorted(r.operation for r in change.runs) == [RunOperation.REVOKE, RunOperation.RUN]
    grants = {g.email: g for g in SandboxKajabiGrant.objects.all()}
    assert grants[OLD].is_active is False
    assert grants[NEW].is_active is True
    assert grants[NEW].external_user_id == external_user_id(order, NEW)
    assert grants[OLD].external_user_id == external_user_id(order, OLD)
    statuses = sorted(order.action_snapshots.values_list("status", flat=True))
    assert statuses == [SnapshotStatus.REVOKED, SnapshotStatus.SUCCEEDED]
    event = order.events.get(type=EventType.EMAIL_CHANGED)
    assert event.message == f"Customer email changed: {OLD} → {NEW}"
    assert (event.actor_label, event.data) == ("sam@example.com", {"old": OLD, "new": NEW})


def test_access_another_paid_order_of_the_old_address_grants_is_kept(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    other = paid_order(world, email=OLD)
    run_queued(other)
    order = paid_order(world, email=OLD)
    run_queued(order)

    change = change_customer_email(order, NEW, resend_receipt=False, actor=Actor.of_user(world.sam))
    run_queued(order)

    assert [r.operation for r in change.runs] == [RunOperation.RUN]
    assert SandboxKajabiGrant.objects.get(email=OLD).is_active is True
    assert order.events.filter(
        type=EventType.ACCESS_KEPT, message__contains=f"order #{other.number} still grants it"
    ).exists()


def test_the_receipt_can_go_again_to_the_new_address(world: World) -> None:

    order = factories.order(world, email=OLD)
    email_action(order)

    change = change_customer_email(order, NEW, resend_receipt=True, actor=Actor.of_user(world.sam))
    for run in change.resent:
        ActionRun.objects.filter(pk=run.pk).update(run_after=run.created_at)
    run_queued(order)

    assert len(change.resent) == 1
    assert [m.to for m in mail.outbox] == [[NEW]]


def test_an_order_whose_checkout_sends_no_receipts_gets_one_at_the_new_address(
    world: World,
) -> None:
    order = factories.order(world, email=OLD)

    change = change_customer_email(order, NEW, resend_receipt=True, actor=Actor.of_user(world.sam))
    run_queued(order)

    assert len(change.resent) == 1
    assert [m.to for m in mail.outbox] == [[NEW]]
    assert mail.outbox[0].subject == f"Your receipt for order #{order.number}"


def test_the_same_address_changes_nothing(world: World) -> None:

    order = factories.order(world, email=OLD)

    with pytest.raises(SameEmail):
        change_customer_email(order, OLD, resend_receipt=False, actor=Actor.of_user(world.sam))
    assert not order.events.filter(type=EventType.EMAIL_CHANGED).exists()


def test_a_kajabi_grant_with_its_grant_email_can_be_resent(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes, send_offer_grant_email=True)
    order = paid_order(world, email=NEW)
    run_queued(order)
    snapshot = order.action_snapshots.get()

    preview = email_preview(snapshot)
    run = resend_email(snapshot, key="kajabi-key-1", by=world.sam)
    run_queued(order)

    assert preview.subject == "Kajabi's offer grant email"
    assert run is not None
    grant = SandboxKajabiGrant.objects.get()
    assert (grant.activations, grant.is_active, grant.grant_email_sent) == (2, True, True)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.SUCCEEDED
    assert order.events.filter(type=EventType.EMAIL_RESENT).exists()


def test_a_kajabi_grant_without_its_grant_email_cannot_be_resent(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)

    assert not can_resend(order.action_snapshots.get())
