from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunStatus, SnapshotStatus
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.catalog.models import ActionKind, DiscountCode
from orderdesk.orders.events import Actor, record_event
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.organizations.roles import can_act, member_access
from orderdesk.payments.models import Refund, RefundSettlement, RefundStatus
from orderdesk.testing import factories
from orderdesk.web.http import StaffRequest
from orderdesk.web.navigation import Navigation

PANEL = {"HX-Request": "true", "HX-Target": "panel"}


@pytest.fixture
def detailed_order(world: factories.World) -> Order:
    code = DiscountCode.objects.create(
        checkout=world.checkout, code="SPRING", kind="percentage", percent=10
    )
    order = factories.order(
        world,
        add_ons=(world.bump,),
        email="maija@example.com",
        discount_code=code,
        company="Kuvaamo Oy",
        phone="+358 40 123 4567",
        city="Tampere",
        extra_fields={"How did you hear about us?": "A friend"},
        analytics_consent=True,
        refunded_minor=900,
        status=OrderStatus.PARTIALLY_REFUNDED,
    )
    snapshot = ActionSnapshot.objects.create(
        order=order,
        level="offer",
        kind="kajabi_grant",
        name="Grant Kajabi offer",
        status=SnapshotStatus.FAILED,
        attempts=3,
        last_error="Kajabi answered 500",
        last_run_at=timezone.now(),
    )
    ActionRun.objects.create(
        snapshot=snapshot,
        status=RunStatus.FAILED,
        run_after=timezone.now(),
        error_message="HTTP 500 from Kajabi",
    )
    Refund.objects.create(
        order=order,
        status=RefundStatus.SUCCEEDED,
        amount_minor=900,
        currency="EUR",
        idempotency_key="refund-1",
        created_by=world.alice,
    )
    record_event(
        order, type="payment_succeeded", message="Payment succeeded", actor=Actor.provider("Stripe")
    )
    record_event(
        order, type="note", message="Called the customer", actor=Actor.of_user(world.alice)
    )
    return order


def test_it_renders_the_table_with_the_panel_open_on_a_deep_link(
    client: Client, world: factories.World, detailed_order: Order
) -> None:
    client.force_login(world.alice)
    response = client.get(f"/orders/{detailed_order.number}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="orders-table"' in html
    assert 'role="dialog"' in html
    assert f"Order #{detailed_order.number}</h2>" in html
    assert f'id="order-row-{detailed_order.number}" class="order-row is-selected"' in html


def test_it_shows_the_five_sections(
    client: Client, world: factories.World, detailed_order: Order
) -> None:
    client.force_login(world.alice)
    html = client.get(f"/orders/{detailed_order.number}/", headers=PANEL).content.decode()
    assert "<html" not in html
    for title in ("General", "Customer", "Payments", "Post-Purchase Actions", "Timeline"):
        assert f">{title}</h3>" in html
    # General
    assert "Masterclass launch" in html
    assert "Black Friday Meta" in html
    assert 'addon-order_bump">Order bump</span> Workbook PDF' in html
    assert "<code>SPRING</code>" in html
    assert "25.5 %" in html
    assert "14 %" in html
    assert "€9.00</strong> · Succeeded" in html
    # Customer
    assert "Kuvaamo Oy" in html
    assert "+358 40 123 4567" in html
    assert "Finland" in html
    assert "How did you hear about us?" in html
    assert "A friend" in html
    assert "Granted" in html
    # Payments
    assert "Stripe" in html
    assert "stripe_" in html
    assert "Succeeded" in html
    # Actions
    assert "Grant Kajabi offer" in html
    assert "Kajabi answered 500" in html
    assert "HTTP 500 from Kajabi" in html
    assert "3 attempts" in html
    # Timeline
    assert "Called the customer" in html
    assert "alice@example.com" in html
    assert "Provider: Stripe" in html


def test_it_names_who_asked_for_each_refund(
    client: Client, world: factories.World, detailed_order: Order
) -> None:
    token, _raw = ApiToken.issue(
        checkout=world.checkout, name="Helpdesk script", role=CheckoutRole.CUSTOMER_SERVICE
    )
    Refund.objects.create(
        order=detailed_order,
        status=RefundStatus.RECORDED,
        via_provider=False,
        settlement=RefundSettlement.UNCHECKED,
        amount_minor=100,
        currency="EUR",
        idempotency_key="refund-2",
        created_by_token=token,
    )
    client.force_login(world.alice)
    html = client.get(f"/orders/{detailed_order.number}/", headers=PANEL).content.decode()
    assert " by alice@example.com" in html
    assert " by API token Helpdesk script" in html


def test_it_closes_the_panel_with_an_empty_fragment(client: Client, world: factories.World) -> None:
    client.force_login(world.alice)
    response = client.get("/orders/", headers=PANEL)
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_another_organizations_order_is_a_404(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    client.force_login(world.charlie)
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.get(f"/orders/{order.number}/", headers=PANEL).status_code == 404
    assert client.get("/orders/999/").status_code == 404


def test_an_order_on_a_checkout_without_a_role_is_a_404(
    client: Client, world: factories.World
) -> None:
    hidden_checkout, _key = factories.checkout(world.org, "Hidden shop")
    order = factories.order(world)
    Order.objects.filter(pk=order.pk).update(checkout=hidden_checkout)
    client.force_login(world.bob)
    assert client.get(f"/orders/{order.number}/").status_code == 404
    client.force_login(world.alice)  # the owner sees every checkout of the organization
    assert client.get(f"/orders/{order.number}/").status_code == 200


def test_a_viewer_sees_no_action_buttons(
    client: Client, world: factories.World, detailed_order: Order
) -> None:
    client.force_login(world.bob)
    html = client.get(f"/orders/{detailed_order.number}/", headers=PANEL).content.decode()
    assert "Post-Purchase Actions" in html
    assert "panel-buttons" not in html
    assert "action-buttons" not in html
    client.force_login(world.sam)
    html = client.get(f"/orders/{detailed_order.number}/", headers=PANEL).content.decode()
    assert "panel-buttons" in html
    assert "action-buttons" in html


def test_it_knows_which_roles_can_act() -> None:
    acting = {role for role in CheckoutRole.values if can_act(role)}
    assert acting == {CheckoutRole.ADMIN, CheckoutRole.MAINTAINER, CheckoutRole.CUSTOMER_SERVICE}
    assert can_act(CheckoutRole.VIEWER) is False
    assert can_act(None) is False


def test_the_panel_runs_a_constant_number_of_queries(
    client: Client,
    world: factories.World,
    detailed_order: Order,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client.force_login(world.alice)
    client.get("/orders/")
    # session, user, access, order (with its attention reasons), lines, refunds, refund
    # lines, attempts, snapshots, runs, events, disputes.
    with django_assert_num_queries(12):
        client.get(f"/orders/{detailed_order.number}/", headers=PANEL)
    for _ in range(3):
        record_event(detailed_order, type="note", message="More", actor=Actor.system())
    # Emails that may be resent are composed by their dialog, not by every panel.
    email_action(detailed_order)
    email_action(detailed_order, ActionKind.CUSTOM_EMAIL, subject="Hi", body="Welcome")
    with django_assert_num_queries(12):
        html = client.get(f"/orders/{detailed_order.number}/", headers=PANEL).content.decode()
    assert html.count("Resend email…") == 2


def test_the_update_response_refreshes_panel_and_row(
    client: Client, world: factories.World, rf: RequestFactory
) -> None:
    from orderdesk.web.views.orders import order_updated_response

    order = factories.order(world, created_at=timezone.now() - dt.timedelta(hours=1))
    request = cast(StaffRequest, rf.post(f"/orders/{order.number}/something/"))
    request.user = world.sam
    request.session = client.session
    request.access = member_access(world.sam, current_checkout_id=None)
    request.navigation = Navigation(request)
    response = order_updated_response(request, order, message="Done.")
    html = response.content.decode()
    assert response["HX-Trigger"] == "order-updated"
    assert 'role="dialog"' in html
    assert "Done." in html
    assert f'id="order-row-{order.number}"' in html
    assert 'hx-swap-oob="true"' in html
