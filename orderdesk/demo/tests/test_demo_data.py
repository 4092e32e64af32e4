from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.db.models import Count
from django.test import RequestFactory

from orderdesk.actions.models import ActionRun, ActionSnapshot, SnapshotStatus
from orderdesk.actions.services import rerun_action
from orderdesk.actions.tests.builders import run_queued
from orderdesk.actions.tests.conftest import sandboxes
from orderdesk.catalog.models import ActionConfig, CheckoutLink, DiscountCode, Product
from orderdesk.demo.data import ensure_demo_data
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderLine, OrderStatus
from orderdesk.organizations.models import CheckoutMembership, Membership, User
from orderdesk.payments.models import PaymentAttempt, Refund
from orderdesk.sandboxes.models import SandboxWebhookDelivery

__all__ = ["sandboxes"]

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
# The demo catalog dates its Black Friday codes from today: today must be NOW too.
pytestmark = pytest.mark.time_machine(NOW, tick=True)


def values(queryset: object, field: str) -> set[object]:
    return set(queryset.values_list(field, flat=True).distinct())  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_it_builds_the_demo_merchant_with_a_year_of_varied_orders() -> None:
    data = ensure_demo_data(site_url="http://127.0.0.1:8000", now=NOW)

    assert data.created is True
    assert len(data.checkouts) == 2
    assert Order.objects.count() == 5000
    for email in ("owner@demo.example", "admin@demo.example", "support@demo.example"):
        assert (
            authenticate(RequestFactory().post("/login/"), username=email, password="demo")
            is not None
        )
    assert (
        authenticate(
            RequestFactory().post("/login/"), username="viewer@demo.example", password="demo"
        )
        is not None
    )
    # The admin spans every organization: the merchant's owner has no admin rights, a
    # separate platform operator has (issue 18, finding 4).
    owner = User.objects.get(email="owner@demo.example")
    assert (owner.is_staff, owner.is_superuser, owner.is_platform_operator) == (False,) * 3
    assert User.objects.get(email="operator@demo.example").is_platform_operator
    assert not Membership.objects.filter(user__email="operator@demo.example").exists()
    assert values(Membership.objects.filter(organization=data.organization), "role") == {
        "owner",
        "admin",
        "member",
    }
    assert values(CheckoutMembership.objects, "role") == {"customer_service", "viewer"}

    orders = Order.objects.all()
    assert values(orders, "status") == set(OrderStatus.values)
    assert values(PaymentAttempt.objects, "provider") == {"stripe", "paytrail", "epassi", "manual"}
    assert values(PaymentAttempt.objects, "method") >= {
        "card", "apple_pay", "mobilepay", "osuuspankki", "nordea", "epassi", "invoice",
    }  # fmt: skip
    assert values(orders, "currency") == {"EUR", "SEK", "USD"}
    assert len(values(orders.exclude(country=""), "country")) >= 10
    assert orders.exclude(country="").filter(region="").count() == 0
    assert values(orders, "analytics_consent") >= {True, False}
    assert values(orders, "device_type") >= {"desktop", "mobile", "tablet"}
    assert values(orders, "source") == {"Meta", "Google", "Email", "Instagram", "TikTok", "Direct"}
    assert orders.filter(created_at__lt=NOW - dt.timedelta(days=365)).exists()
    assert values(OrderLine.objects, "kind") == {"main", "order_bump", "pre_upsell", "upgrade"}
    assert values(Product.objects, "vat_rate") >= {Decimal("25.5"), Decimal(14), Decimal(10), 0}
    assert values(DiscountCode.objects, "kind") == {"percentage", "fixed"}
    assert orders.filter(discount_minor__gt=0).count() > 100
    assert values(ActionConfig.objects, "level") == {"product", "offer", "checkout"}
    assert values(CheckoutLink.objects.exclude(tags=[]), "checkout") == {
        c.pk for c in data.checkouts
    }
    assert values(Refund.objects, "status") >= {"succeeded", "recorded", "failed", "reversed"}
    errors = values(ActionRun.objects.filter(status="failed"), "error_message")
    assert {"422 Email: is invalid", "500 Internal Server Error", "Timed out after 15 s"} <= errors

    attention = orders.filter(
        status__in=OrderStatus.OWES_ACTIONS,
        action_health__in=["pending", "failed"],
        paid_at__lt=NOW - dt.timedelta(minutes=10),
    )
    assert 3 <= attention.count() <= 100
    assert values(attention, "status") >= {OrderStatus.PAID, OrderStatus.MARKED_COMPLETED}


@pytest.mark.django_db
def test_it_reuses_the_demo_data_on_the_next_run() -> None:
    first = ensure_demo_data(site_url="http://127.0.0.1:8000", orders=200, now=NOW)
    counts = {
        model.__name__: model.objects.count()
        for model in (Order, OrderLine, PaymentAttempt, Refund, Product, DiscountCode)
    }

    again = ensure_demo_data(site_url="http://127.0.0.1:8000", orders=200, now=NOW)

    assert (first.created, again.created) == (True, False)
    assert again.organization == first.organization
    assert again.orders == 200
    assert counts == {
        model.__name__: model.objects.count()
        for model in (Order, OrderLine, PaymentAttempt, Refund, Product, DiscountCode)
    }
    assert Order.objects.values("number").annotate(n=Count("pk")).filter(n__gt=1).count() == 0


@pytest.mark.django_db
def test_a_demo_made_before_loses_the_owners_admin_rights_and_gains_an_operator() -> None:
    ensure_demo_data(site_url="http://127.0.0.1:8000", orders=5, now=NOW)
    User.objects.filter(email="owner@demo.example").update(is_staff=True, is_superuser=True)
    User.objects.filter(email="operator@demo.example").delete()

    ensure_demo_data(site_url="http://127.0.0.1:8000", orders=5, now=NOW)

    owner = User.objects.get(email="owner@demo.example")
    assert (owner.is_staff, owner.is_superuser) == (False, False)
    assert User.objects.get(email="operator@demo.example").is_platform_operator


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Notify CRM", "Book coaching session"])
def test_the_demo_webhooks_succeed_at_their_receivers_on_a_rerun(sandboxes: str, name: str) -> None:
    """Issue 13, finding 6: the receivers check the secret the demo's actions sign with."""
    ensure_demo_data(site_url="http://sandbox.test", orders=300, now=NOW)
    snapshot = (
        ActionSnapshot.objects.filter(name=name, order__status__in=OrderStatus.WAS_PAID)
        .select_related("order")
        .order_by("pk")
        .first()
    )
    assert snapshot is not None
    snapshot.status = SnapshotStatus.FAILED
    snapshot.save(update_fields=["status"])

    rerun_action(snapshot, by=Actor.system())
    run_queued(snapshot.order)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.last_error) == (SnapshotStatus.SUCCEEDED, "")
    delivery = SandboxWebhookDelivery.objects.get()
    assert delivery.signature_valid
