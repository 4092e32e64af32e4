from __future__ import annotations

import pytest

from orderdesk.actions.models import ActionRun, SnapshotStatus
from orderdesk.actions.services import (
    rerun_action,
    rerun_failed,
    retry_access_removal,
    revoke_actions,
)
from orderdesk.actions.tests.builders import kajabi, paid_order, queued, run_queued, webhook
from orderdesk.catalog.models import ActionConfig, ActionKind
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.sandboxes.models import SandboxKajabiGrant, SandboxKajabiOffer
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.workflows.completion import mark_completed


def set_mode(key: str, mode: str) -> None:
    SandboxKajabiOffer.objects.update_or_create(key=key, defaults={"mode": mode})


def config_of(order: Order, kind: str) -> ActionConfig:
    config = order.action_snapshots.get(kind=kind).config
    assert config is not None
    return config


@pytest.fixture
def failed_order(world: World, sandboxes: str) -> Order:
    """A paid order whose webhook succeeded and whose Kajabi grant failed permanently."""
    kajabi(world, sandboxes)
    webhook(world, sandboxes)
    set_mode("masterclass", "invalid_email")
    order = paid_order(world)
    run_queued(order)
    order.refresh_from_db()
    assert order.action_health == ActionHealth.FAILED
    return order


def test_it_never_runs_a_succeeded_action_twice(failed_order: Order, world: World) -> None:
    succeeded = failed_order.action_snapshots.get(kind=ActionKind.WEBHOOK)

    assert rerun_action(succeeded, by=world.sam) is None
    assert not queued(failed_order)
    assert succeeded.runs.count() == 1


def test_it_reruns_a_failed_action_for_the_user(failed_order: Order, world: World) -> None:
    set_mode("masterclass", "ok")
    snapshot = failed_order.action_snapshots.get(kind=ActionKind.KAJABI_GRANT)

    run = rerun_action(snapshot, by=world.sam)
    assert rerun_action(snapshot, by=world.sam) is None, "already queued"

    assert run is not None
    assert run.triggered_by == world.sam
    event = failed_order.events.get(type="action_rerun")
    assert event.actor_user == world.sam
    assert event.message == "Re-run requested: Grant Kajabi offer (offer level)"
    failed_order.refresh_from_db()
    assert failed_order.action_health == ActionHealth.PENDING
    run_queued(failed_order)
    failed_order.refresh_from_db()
    assert failed_order.status == OrderStatus.COMPLETED
    assert failed_order.action_health == ActionHealth.SUCCEEDED


def test_it_reruns_only_failed_actions_of_a_completed_order(
    failed_order: Order, world: World
) -> None:
    order = mark_completed(failed_order, by=world.alice)
    assert order.status == OrderStatus.MARKED_COMPLETED
    run_queued(order)  # still failing: Kajabi rejects the email
    order.refresh_from_db()
    assert order.action_health == ActionHealth.FAILED
    set_mode("masterclass", "ok")
    webhook_runs = order.action_snapshots.get(kind=ActionKind.WEBHOOK).runs.count()

    order = mark_completed(order, by=world.alice)

    [run] = queued(order)
    assert run.snapshot.kind == ActionKind.KAJABI_GRANT
    run_queued(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.MARKED_COMPLETED
    assert order.action_health == ActionHealth.SUCCEEDED
    assert order.action_snapshots.get(kind=ActionKind.WEBHOOK).runs.count() == webhook_runs
    assert order.events.filter(type="marked_completed", actor_user=world.alice).count() == 2


def test_it_runs_the_pending_actions_of_an_order_marked_completed(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    order = factories.order(world, status=OrderStatus.PAID)
    from orderdesk.actions.services import snapshot_actions

    snapshot_actions(order)  # paid, but nothing scheduled yet

    order = mark_completed(order, by=world.sam)

    assert len(queued(order)) == 1
    run_queued(order)
    assert SandboxKajabiGrant.objects.filter(is_active=True).count() == 1


def test_it_refuses_to_mark_an_unpaid_order_completed(world: World) -> None:
    order = factories.order(world, status=OrderStatus.IN_PROGRESS)

    with pytest.raises(TransitionNotAllowed):
        mark_completed(order, by=world.alice)

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert not order.events.exists()


def test_it_replaces_only_failed_snapshots_with_the_latest_configuration(
    failed_order: Order, world: World, sandboxes: str
) -> None:
    kajabi_config = config_of(failed_order, ActionKind.KAJABI_GRANT)
    webhook_config = config_of(failed_order, ActionKind.WEBHOOK)
    new_url = f"{sandboxes}/kajabi/offers/masterclass-v2/activate"
    kajabi_config.settings = {**kajabi_config.settings, "activation_url": new_url}
    kajabi_config.version = 2
    kajabi_config.save()
    webhook_config.settings = {**webhook_config.settings, "secret": "rotated"}
    webhook_config.version = 2
    webhook_config.save()

    runs = rerun_failed(failed_order, use_latest_config=True, by=world.alice)

    assert len(runs) == 1
    kajabi_snapshot = failed_order.action_snapshots.get(kind=ActionKind.KAJABI_GRANT)
    webhook_snapshot = failed_order.action_snapshots.get(kind=ActionKind.WEBHOOK)
    assert kajabi_snapshot.settings["activation_url"] == new_url
    assert kajabi_snapshot.config_version == 2
    assert webhook_snapshot.settings["secret"] == "sandbox-webhook-secret"
    assert webhook_snapshot.config_version == 1
    event = failed_order.events.get(type="action_config_replaced")
    assert event.actor_user == world.alice
    assert event.data["old"]["settings"]["activation_url"].endswith("/masterclass/activate")
    assert event.data["new"]["settings"]["activation_url"] == new_url
    assert (event.data["old"]["version"], event.data["new"]["version"]) == (1, 2)
    run_queued(failed_order)
    assert SandboxKajabiGrant.objects.get().offer.key == "masterclass-v2"


def test_it_keeps_snapshots_without_use_latest_configuration(
    failed_order: Order, world: World
) -> None:
    snapshot = failed_order.action_snapshots.get(kind=ActionKind.KAJABI_GRANT)
    config = config_of(failed_order, ActionKind.KAJABI_GRANT)
    config.settings = {"activation_url": "http://elsewhere.invalid/activate"}
    config.save()

    mark_completed(failed_order, by=world.alice)

    snapshot.refresh_from_db()
    assert snapshot.settings["activation_url"].endswith("/masterclass/activate")
    assert not failed_order.events.filter(type="action_config_replaced").exists()


def test_it_masks_secrets_in_the_recorded_configuration(failed_order: Order, world: World) -> None:
    config = config_of(failed_order, ActionKind.KAJABI_GRANT)
    config.settings = {**config.settings, "secret": "hunter2"}
    config.save()

    mark_completed(failed_order, use_latest_config=True, by=world.alice)

    event = failed_order.events.get(type="action_config_replaced")
    assert event.data["new"]["settings"]["secret"].startswith("sha256:")
    assert "hunter2" not in str(event.data)


def test_it_revokes_granted_offer_access(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)

    [run] = revoke_actions(order, snapshots=order.action_snapshots.all(), actor=world.alice)
    assert run.operation == "revoke"
    run_queued(order)

    assert not SandboxKajabiGrant.objects.get().is_active
    snapshot = order.action_snapshots.get()
    assert snapshot.status == SnapshotStatus.REVOKED
    assert order.events.filter(type="access_revoked", message__startswith="Access removed").exists()
    assert revoke_actions(order, snapshots=order.action_snapshots.all(), actor=world.alice) == []


def test_it_revokes_product_level_access_only_for_the_given_products(
    world: World, sandboxes: str
) -> None:
    factories.kajabi_action(
        world.checkout,
        level="product",
        url=f"{sandboxes}/kajabi/offers/course/activate",
        product=world.course,
    )
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)

    runs = revoke_actions(
        order, snapshots=order.action_snapshots.filter(product=world.course), actor=world.alice
    )

    assert [r.snapshot.level for r in runs] == ["product"]
    run_queued(order)
    grants = {g.offer.key: g.is_active for g in SandboxKajabiGrant.objects.all()}
    assert grants == {"course": False, "masterclass": True}


def test_it_marks_a_never_granted_action_revoked_without_a_call(
    failed_order: Order, world: World
) -> None:
    assert (
        revoke_actions(
            failed_order, snapshots=failed_order.action_snapshots.all(), actor=world.alice
        )
        == []
    )

    snapshot = failed_order.action_snapshots.get(kind=ActionKind.KAJABI_GRANT)
    assert snapshot.status == SnapshotStatus.REVOKED
    assert ActionRun.objects.filter(operation="revoke").count() == 0


@pytest.fixture
def removal_failed(world: World, sandboxes: str) -> Order:
    """A paid order whose Kajabi access was granted, then removing it failed for good."""
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)
    set_mode("masterclass", "invalid_email")  # Kajabi refuses, permanently
    revoke_actions(order, snapshots=order.action_snapshots.all(), actor=world.alice)
    run_queued(order)
    return order


def test_a_passing_fault_while_removing_access_is_retried(world: World, sandboxes: str) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)
    set_mode("masterclass", "server_error")
    revoke_actions(order, snapshots=order.action_snapshots.all(), actor=world.alice)

    run_queued(order)

    [retry] = queued(order)
    assert (retry.operation, retry.attempt) == ("revoke", 2)
    assert order.events.filter(
        type="action_failed", message__contains="attempt 1 of 5), retrying in 30 s"
    ).exists()
    snapshot = order.action_snapshots.get()
    assert not snapshot.access_removal_failed  # not for good: a retry is queued
    set_mode("masterclass", "ok")
    run_queued(order)
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.last_error) == (SnapshotStatus.REVOKED, "")
    assert not SandboxKajabiGrant.objects.get().is_active


def test_staff_can_retry_a_failed_access_removal(removal_failed: Order, world: World) -> None:
    snapshot = removal_failed.action_snapshots.get()
    assert snapshot.access_removal_failed
    assert snapshot.last_error.startswith("Removing access failed")
    assert SandboxKajabiGrant.objects.get().is_active
    set_mode("masterclass", "ok")

    run = retry_access_removal(snapshot, by=world.sam)
    assert retry_access_removal(snapshot, by=world.sam) is None, "already queued"

    assert run is not None
    assert (run.operation, run.triggered_by) == ("revoke", world.sam)
    run_queued(removal_failed)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.REVOKED
    assert not SandboxKajabiGrant.objects.get().is_active


def test_access_never_asked_to_be_removed_is_not_removed_by_a_retry(
    world: World, sandboxes: str
) -> None:
    kajabi(world, sandboxes)
    order = paid_order(world)
    run_queued(order)
    snapshot = order.action_snapshots.get()

    assert retry_access_removal(snapshot, by=world.sam) is None

    assert not queued(order)
    assert SandboxKajabiGrant.objects.get().is_active
