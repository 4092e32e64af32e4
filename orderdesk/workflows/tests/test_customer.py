"""The customer's page read model (issue 14): orders of one email the caller may see, money
per currency, first and last purchase, and the access held now with where it came from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionKind, ActionLevel, Product
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundLine, RefundStatus
from orderdesk.testing import factories
from orderdesk.workflows.customer import AccessState, load_customer

pytestmark = pytest.mark.django_db

EMAIL = "aino@example.com"


def grant(
    order: Order, status: str, *, level: str = ActionLevel.OFFER, product: Product | None = None
) -> None:
    ActionSnapshot.objects.create(
        order=order,
        level=level,
        kind=ActionKind.KAJABI_GRANT,
        product=product,
        name="Grant Kajabi offer",
        status=status,
    )


def test_it_sums_per_currency_and_dates_the_purchases(world: factories.World) -> None:
    first = timezone.now() - dt.timedelta(days=30)
    eur = factories.order(world, email=EMAIL, created_at=first)
    sek = factories.order(world, email=EMAIL, currency="SEK")
    Order.objects.filter(pk=eur.pk).update(
        refunded_minor=1000, status=OrderStatus.PARTIALLY_REFUNDED
    )
    factories.order(world, email=EMAIL, status=OrderStatus.IN_PROGRESS)  # never paid
    factories.order(world, email="someone@example.com")

    page = load_customer(Order.objects.filter(checkout=world.checkout), "  Aino@Example.com ")

    assert page is not None
    assert page.email == EMAIL
    assert page.order_count == 3
    assert [(t.currency, t.paid_minor, t.refunded_minor) for t in page.totals] == [
        ("EUR", eur.total_minor, 1000),
        ("SEK", sek.total_minor, 0),
    ]
    assert page.first_purchase_at == first
    assert page.last_purchase_at == sek.paid_at
    assert page.name == "Maija Meikäläinen"


def test_access_names_the_order_that_granted_it_and_the_refund_that_removed_it(
    world: factories.World,
) -> None:
    kept = factories.order(world, email=EMAIL)
    grant(kept, SnapshotStatus.SUCCEEDED)
    refunded = factories.order(world, email=EMAIL, add_ons=(world.bump,))
    grant(refunded, SnapshotStatus.REVOKED)
    grant(refunded, SnapshotStatus.REVOKED, level=ActionLevel.PRODUCT, product=world.workbook)
    failed = factories.order(world, email=EMAIL)
    grant(failed, SnapshotStatus.FAILED)
    refund = Refund.objects.create(
        order=refunded,
        amount_minor=500,
        currency="EUR",
        status=RefundStatus.SUCCEEDED,
        idempotency_key="customer-page-1",
        remove_offer_access=True,
    )
    workbook_line = refunded.lines.get(product=world.workbook)
    RefundLine.objects.create(
        refund=refund, order_line=workbook_line, amount_minor=500, remove_access=True
    )

    page = load_customer(Order.objects.filter(checkout=world.checkout), EMAIL)

    assert page is not None
    rows = [(a.name, a.state, a.order_number, a.refund_id, a.grants) for a in page.access]
    # Per product and offer: a grant that holds access speaks for the offer.
    assert rows == [
        ("Masterclass launch", AccessState.HELD, kept.number, None, 3),
        ("Workbook PDF", AccessState.REMOVED, refunded.number, refund.pk, 1),
    ]


def test_a_removed_offer_access_names_its_refund(world: factories.World) -> None:
    order = factories.order(world, email=EMAIL)
    grant(order, SnapshotStatus.REVOKED)
    refund = Refund.objects.create(
        order=order,
        amount_minor=order.total_minor,
        currency="EUR",
        status=RefundStatus.SUCCEEDED,
        idempotency_key="customer-page-2",
        remove_offer_access=True,
    )

    page = load_customer(Order.objects.filter(checkout=world.checkout), EMAIL)

    assert page is not None
    [access] = page.access
    assert (access.state, access.order_number, access.refund_id) == (
        AccessState.REMOVED,
        order.number,
        refund.pk,
    )


def test_it_shows_only_the_orders_the_caller_may_see(world: factories.World) -> None:
    factories.order(world, email=EMAIL)

    assert load_customer(Order.objects.filter(checkout=world.other_checkout), EMAIL) is None
    assert load_customer(Order.objects.filter(checkout=world.checkout), "") is None


def test_it_costs_at_most_four_queries_for_any_number_of_orders(world: factories.World) -> None:
    for _ in range(12):
        grant(factories.order(world, email=EMAIL), SnapshotStatus.SUCCEEDED)

    with CaptureQueriesContext(connection) as queries:
        page = load_customer(Order.objects.filter(checkout=world.checkout), EMAIL)

    assert page is not None
    assert [a.grants for a in page.access] == [12]
    assert len(queries) <= 4
