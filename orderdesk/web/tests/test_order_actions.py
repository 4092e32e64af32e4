"""Re-run and Mark as Completed from the order panel (SPEC F4, F6)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from orderdesk.actions.models import ActionRun, RunStatus, SnapshotStatus
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.payments.models import Refund, RefundSettlement, RefundStatus
from orderdesk.testing import factories

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


@pytest.fixture
def failed(world: factories.World) -> Order:
    """A paid order whose offer-level Kajabi grant failed, configured from a live config."""
    order = factories.order(world)
    factories.failed_kajabi_action(world, order)
    return order


def panel(client: Client, order: Order) -> str:
    return client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()


def test_a_viewer_sees_no_buttons_and_gets_403_when_posting(
    client: Client, world: factories.World, failed: Order
) -> None:
    snapshot = failed.action_snapshots.get()
    client.force_login(world.bob)

    html = panel(client, failed)
    rerun = client.post(f"/orders/{failed.number}/actions/{snapshot.pk}/rerun/", headers=HTMX)
    complete = client.post(f"/orders/{failed.number}/mark-completed/", headers=HTMX)

    assert "Re-run" not in html
    assert "Mark as Completed" not in html
    assert (rerun.status_code, complete.status_code) == (403, 403)
    assert not ActionRun.objects.exists()
    failed.refresh_from_db()
    assert failed.status == OrderStatus.PAID


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_acting_roles_see_the_buttons(
    client: Client, world: factories.World, failed: Order, who: str
) -> None:
    client.force_login(getattr(world, who))

    html = panel(client, failed)

    assert ">Re-run</button>" in html
    assert 'id="mark-completed-dialog"' in html
    assert "Use latest configuration" in html
    assert "This change is permanent and cannot be undone." in html
    assert "Also restore refunded data" not in html


def test_it_reruns_a_failed_action_and_updates_panel_and_row(
    client: Client, world: factories.World, failed: Order
) -> None:
    snapshot = failed.action_snapshots.get()
    client.force_login(world.sam)

    response = client.post(f"/orders/{failed.number}/actions/{snapshot.pk}/rerun/", headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Re-run queued: Grant Kajabi offer" in html
    assert f'id="order-row-{failed.number}"' in html
    assert response["HX-Trigger"] == "order-updated"
    run = ActionRun.objects.get()
    assert (run.status, run.triggered_by) == (RunStatus.QUEUED, world.sam)
    event = failed.events.get(type="action_rerun")
    assert event.actor_user == world.sam


def test_it_does_nothing_for_an_action_that_succeeded(
    client: Client, world: factories.World, failed: Order
) -> None:
    snapshot = failed.action_snapshots.get()
    snapshot.status = SnapshotStatus.SUCCEEDED
    snapshot.save()
    client.force_login(world.sam)

    response = client.post(f"/orders/{failed.number}/actions/{snapshot.pk}/rerun/", headers=HTMX)

    assert "has nothing to re-run" in response.content.decode()
    assert not ActionRun.objects.exists()


def test_it_hides_another_orders_action(
    client: Client, world: factories.World, failed: Order
) -> None:
    other = factories.order(world)
    snapshot = failed.action_snapshots.get()
    client.force_login(world.alice)

    response = client.post(f"/orders/{other.number}/actions/{snapshot.pk}/rerun/", headers=HTMX)

    assert response.status_code == 404
    assert not ActionRun.objects.exists()


def test_it_marks_completed_with_the_latest_configuration(
    client: Client, world: factories.World, failed: Order
) -> None:
    snapshot = failed.action_snapshots.get()
    config = snapshot.config
    assert config is not None
    config.settings = {
        **config.settings,
        "activation_url": "http://kajabi.invalid/offers/b/activate",
    }
    config.version = 2
    config.save()
    client.force_login(world.alice)

    response = client.post(
        f"/orders/{failed.number}/mark-completed/", {"use_latest_config": "on"}, headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Marked as completed" in html
    failed.refresh_from_db()
    assert failed.status == OrderStatus.MARKED_COMPLETED
    assert failed.action_health == ActionHealth.PENDING
    snapshot.refresh_from_db()
    assert snapshot.settings["activation_url"].endswith("/offers/b/activate")
    assert failed.events.get(type="action_config_replaced").actor_user == world.alice
    assert failed.events.get(type="marked_completed").actor_user == world.alice
    assert ActionRun.objects.filter(status=RunStatus.QUEUED).count() == 1


def test_the_label_turns_to_rerun_once_marked_completed_with_a_failed_action(
    client: Client, world: factories.World, failed: Order
) -> None:
    client.force_login(world.alice)
    Order.objects.filter(pk=failed.pk).update(
        status=OrderStatus.MARKED_COMPLETED, marked_completed_at=timezone.now()
    )

    html = panel(client, failed)

    assert html.count("Mark as Completed and Re-run Actions") >= 2  # button and dialog


def test_it_refuses_an_unpaid_order_with_a_message(client: Client, world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.IN_PROGRESS)
    client.force_login(world.alice)

    response = client.post(f"/orders/{order.number}/mark-completed/", headers=HTMX)

    assert response.status_code == 400
    assert "cannot mark as completed" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS


def test_it_restores_refunded_data_when_asked(client: Client, world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.PARTIALLY_REFUNDED, refunded_minor=900)
    Refund.objects.create(
        order=order,
        status=RefundStatus.RECORDED,
        amount_minor=900,
        currency="EUR",
        idempotency_key="r-1",
        via_provider=False,
        settlement=RefundSettlement.UNCHECKED,
    )
    client.force_login(world.alice)
    assert "Also restore refunded data" in panel(client, order)

    response = client.post(
        f"/orders/{order.number}/mark-completed/", {"restore_refunded_data": "on"}, headers=HTMX
    )

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.MARKED_COMPLETED, 0)
    assert order.refunds.get().status == RefundStatus.REVERSED


def test_without_htmx_it_redirects_back_to_the_order(
    client: Client, world: factories.World, failed: Order
) -> None:
    client.force_login(world.alice)

    response = client.post(f"/orders/{failed.number}/mark-completed/")

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{failed.number}/"


def test_it_offers_no_button_for_a_completed_order(client: Client, world: factories.World) -> None:
    order = factories.order(world, status=OrderStatus.COMPLETED)
    client.force_login(world.alice)

    assert "mark-completed-button" not in panel(client, order)


@pytest.fixture
def removal_failed(failed: Order) -> Order:
    """The grant succeeded; a refund asked to remove the access and removing it failed."""
    snapshot = failed.action_snapshots.get()
    snapshot.status = SnapshotStatus.SUCCEEDED
    snapshot.last_error = "Removing access failed: Kajabi answered 500"
    snapshot.save()
    now = timezone.now()
    ActionRun.objects.create(
        snapshot=snapshot, operation="revoke", status=RunStatus.FAILED, run_after=now
    )
    return failed


def test_it_retries_a_failed_access_removal_from_the_panel(
    client: Client, world: factories.World, removal_failed: Order
) -> None:
    snapshot = removal_failed.action_snapshots.get()
    client.force_login(world.sam)
    assert ">Retry removing access</button>" in panel(client, removal_failed)
    url = f"/orders/{removal_failed.number}/actions/{snapshot.pk}/remove-access/"

    first = client.post(url, headers=HTMX)
    second = client.post(url, headers=HTMX)

    assert "Removing access queued again: Grant Kajabi offer" in first.content.decode()
    assert "has no failed access removal to retry" in second.content.decode()
    queued = ActionRun.objects.filter(status=RunStatus.QUEUED)
    assert [(r.operation, r.triggered_by) for r in queued] == [("revoke", world.sam)]
    assert ">Retry removing access</button>" not in panel(client, removal_failed)


def test_a_viewer_cannot_retry_an_access_removal(
    client: Client, world: factories.World, removal_failed: Order
) -> None:
    snapshot = removal_failed.action_snapshots.get()
    client.force_login(world.bob)

    html = panel(client, removal_failed)
    response = client.post(
        f"/orders/{removal_failed.number}/actions/{snapshot.pk}/remove-access/", headers=HTMX
    )

    assert "Retry removing access" not in html
    assert response.status_code == 403
    assert not ActionRun.objects.filter(status=RunStatus.QUEUED).exists()


def test_there_is_no_retry_for_access_nobody_asked_to_remove(
    client: Client, world: factories.World, failed: Order
) -> None:
    snapshot = failed.action_snapshots.get()
    snapshot.status = SnapshotStatus.SUCCEEDED
    snapshot.save()
    client.force_login(world.alice)

    response = client.post(
        f"/orders/{failed.number}/actions/{snapshot.pk}/remove-access/", headers=HTMX
    )

    assert "Retry removing access</button>" not in panel(client, failed)
    assert "has no failed access removal to retry" in response.content.decode()
    assert not ActionRun.objects.exists()
