"""Requires attention's reasons, disputes and reversed refunds in the table, the panel and the
staff API (issue 12)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from orderdesk.actions.models import (
    ActionRun,
    ActionSnapshot,
    RunOperation,
    RunStatus,
    SnapshotStatus,
)
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Dispute, Refund
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import RefundRequest, refund_order, settle_refund
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes

__all__ = ["fake", "fakes"]

HTMX = {"HX-Request": "true", "HX-Target": "panel"}
LONG_AGO = timezone.now() - dt.timedelta(hours=2)


def disputed(world: factories.World) -> Order:
    order = factories.order(world, status=OrderStatus.COMPLETED)
    Dispute.objects.create(
        order=order,
        payment_attempt=order.payment_attempts.get(),
        provider="stripe",
        provider_reference=f"dp_{uuid.uuid4().hex[:12]}",
        amount_minor=order.total_minor,
        currency=order.currency,
        reason="fraudulent",
        status="needs_response",
        opened_at=timezone.now(),
        last_event_at=timezone.now(),
        evidence_due_by=timezone.now() + dt.timedelta(days=7),
    )
    return transitions.set_dispute_open(order, True)


def failed_actions(world: factories.World) -> Order:
    return factories.order(
        world, action_health=ActionHealth.FAILED, created_at=LONG_AGO, status=OrderStatus.PAID
    )


def reversed_refund(world: factories.World) -> tuple[Order, Refund]:
    order = factories.order(world)
    ActionSnapshot.objects.create(
        order=order,
        level=ActionLevel.PRODUCT,
        kind=ActionKind.KAJABI_GRANT,
        status=SnapshotStatus.SUCCEEDED,
        name="Course access",
        product=world.course,
    )
    line = order.lines.get(product=world.course)
    refund = refund_order(
        order,
        RefundRequest(
            amounts={line.pk: line.total_minor},
            via_provider=True,
            remove_access_line_ids=frozenset({line.pk}),
        ),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    # The worker removed the access.
    ActionRun.objects.filter(snapshot__order=order).update(status=RunStatus.SUCCEEDED)
    ActionSnapshot.objects.filter(order=order).update(status=SnapshotStatus.REVOKED)
    settle_refund(
        refund,
        RefundResult("failed", message="Stripe refund failed: expired_or_canceled_card"),
        actor=Actor.provider("Stripe"),
    )
    return order, refund


def table(client: Client, query: str) -> str:
    return client.get(f"/orders/?{query}").content.decode()


def test_the_tab_shows_each_orders_reasons_and_filters_by_one(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    dispute = disputed(world)
    actions = failed_actions(world)
    reversal, _ = reversed_refund(world)
    client.force_login(world.alice)

    everything = table(client, "tab=attention")
    only_disputes = table(client, "tab=attention&reason=dispute")

    for order in (dispute, actions, reversal):
        assert f'id="order-row-{order.number}"' in everything
    assert 'attention-dispute">Open dispute</span>' in everything
    assert 'attention-actions">Actions not finished</span>' in everything
    assert 'attention-refund_reversed">Refund reversed by the provider</span>' in everything
    assert f'id="order-row-{dispute.number}"' in only_disputes
    assert f'id="order-row-{actions.number}"' not in only_disputes
    assert f'id="order-row-{reversal.number}"' not in only_disputes


def test_the_disputed_filter_shows_orders_with_an_open_dispute(
    client: Client, world: factories.World
) -> None:
    dispute = disputed(world)
    other = factories.order(world)
    client.force_login(world.alice)

    html = table(client, "disputed=1")
    bad = client.get("/orders/?disputed=maybe")

    assert f'id="order-row-{dispute.number}"' in html
    assert f'id="order-row-{other.number}"' not in html
    assert "Use 1 to show only orders with an open dispute." in bad.content.decode()


def test_a_bad_reason_is_refused_with_a_message(client: Client, world: factories.World) -> None:
    client.force_login(world.alice)

    html = table(client, "tab=attention&reason=nope")

    assert "Choose a reason from the list." in html


def test_the_panel_shows_the_dispute_and_its_reason(client: Client, world: factories.World) -> None:
    order = disputed(world)
    client.force_login(world.alice)

    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()

    assert 'attention-dispute" title="Requires attention">Open dispute</span>' in html
    assert "<h4>Disputes</h4>" in html
    assert "Needs response" in html
    assert "reason: fraudulent" in html
    assert "Answer it in the provider's dashboard." in html


def test_the_panel_offers_to_restore_the_access_a_reversed_refund_removed(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    order, refund = reversed_refund(world)
    client.force_login(world.alice)

    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()

    assert "the money is back in your balance and the customer did not get it" in html
    assert "<strong>Course access</strong>" in html
    assert "Restore access" in html
    assert "Leave access removed" in html

    restored = client.post(
        f"/orders/{order.number}/refunds/{refund.pk}/reversal/", {"restore": "yes"}, headers=HTMX
    )

    assert restored.status_code == 200
    assert "Access is being restored." in restored.content.decode()
    snapshot = order.action_snapshots.get()
    assert snapshot.runs.filter(operation=RunOperation.RUN).count() == 1
    order.refresh_from_db()
    assert not order.refund_reversal_open


def test_a_viewer_cannot_decide_and_a_bad_choice_changes_nothing(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    order, refund = reversed_refund(world)
    url = f"/orders/{order.number}/refunds/{refund.pk}/reversal/"
    client.force_login(world.bob)
    assert (
        "Restore access"
        not in client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    )
    assert client.post(url, {"restore": "yes"}, headers=HTMX).status_code == 403

    client.force_login(world.alice)
    bad = client.post(url, {"restore": "perhaps"}, headers=HTMX)

    assert bad.status_code == 400
    assert "Say whether to restore the access." in bad.content.decode()
    order.refresh_from_db()
    assert order.refund_reversal_open


def api_headers(world: factories.World) -> dict[str, str]:
    _, raw = ApiToken.issue(
        checkout=world.checkout, name="desk", role=CheckoutRole.CUSTOMER_SERVICE
    )
    return {"Authorization": f"Bearer {raw}"}


def test_the_api_lists_reasons_filters_and_details_disputes(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    dispute = disputed(world)
    actions = failed_actions(world)
    auth = api_headers(world)

    listed = client.get("/api/v1/orders?tab=attention", headers=auth).json()["orders"]
    by_reason = client.get("/api/v1/orders?tab=attention&reason=actions", headers=auth).json()
    only_disputed = client.get("/api/v1/orders?disputed=true", headers=auth).json()
    detail = client.get(f"/api/v1/orders/{dispute.number}", headers=auth).json()
    bad = client.get("/api/v1/orders?tab=attention&reason=nope", headers=auth)

    assert {o["number"]: o["attention_reasons"] for o in listed} == {
        dispute.number: ["dispute"],
        actions.number: ["actions"],
    }
    assert [o["number"] for o in by_reason["orders"]] == [actions.number]
    assert [o["number"] for o in only_disputed["orders"]] == [dispute.number]
    assert detail["attention_reasons"] == ["dispute"]
    assert detail["requires_attention"] is True
    (out,) = detail["disputes"]
    assert (out["status"], out["reason"], out["is_open"], out["amount_minor"]) == (
        "needs_response",
        "fraudulent",
        True,
        dispute.total_minor,
    )
    assert bad.status_code == 422


def test_the_api_handles_a_reversed_refund(
    client: Client, world: factories.World, fake: FakeProvider
) -> None:
    order, refund = reversed_refund(world)
    auth = api_headers(world)
    base = f"/api/v1/orders/{order.number}/refunds/{refund.pk}/reversal"

    detail = client.get(f"/api/v1/orders/{order.number}", headers=auth).json()
    answer = client.post(base, {"restore_access": False}, "application/json", headers=auth)
    not_reversed = factories.order(world)

    assert detail["attention_reasons"] == ["refund_reversed"]
    (listed,) = detail["refunds"]
    assert listed["awaits_reversal_decision"] is True
    assert listed["status"] == "failed"
    assert listed["provider_reversed_at"] is not None
    assert answer.status_code == 200
    body = answer.json()
    assert body["refund"]["awaits_reversal_decision"] is False
    assert body["refund"]["reversal_handled_by"] == "API token desk"
    assert body["order"]["attention_reasons"] == []
    assert order.action_snapshots.get().status == SnapshotStatus.REVOKED
    other = refund_order(
        not_reversed,
        RefundRequest(amounts={not_reversed.lines.get().pk: 100}, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund
    refused = client.post(
        f"/api/v1/orders/{not_reversed.number}/refunds/{other.pk}/reversal",
        {"restore_access": True},
        "application/json",
        headers=auth,
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "The provider has not reversed this refund."


@pytest.mark.parametrize("reason", ["actions", "dispute", "refund_reversed"])
def test_every_reason_has_a_label_in_finnish_and_swedish(reason: str) -> None:
    from django.utils import translation

    from orderdesk.orders.models import AttentionReason

    english = str(AttentionReason(reason).label)
    for language in ("fi", "sv"):
        with translation.override(language):
            assert str(AttentionReason(reason).label) != english
