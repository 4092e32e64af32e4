"""The order panel's read model: the names it gives, who asked for a refund, and the
Requires attention flag read only by those who ask for it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from orderdesk.catalog.models import DiscountCode
from orderdesk.orders.models import AttentionReason, Order
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.testing import factories
from orderdesk.workflows.lookup import get_order_for_token
from orderdesk.workflows.panel import load_order_details


def test_it_names_the_offer_link_and_code_and_sums_vat_per_rate(world: factories.World) -> None:
    code = DiscountCode.objects.create(
        checkout=world.checkout, code="SPRING", kind="percentage", percent=10
    )
    order = factories.order(world, add_ons=(world.bump,), discount_code=code)

    general = load_order_details(order).general

    assert (general.offer, general.link, general.discount_code) == (
        "Masterclass launch",
        "Black Friday Meta",
        "SPRING",
    )
    assert [str(row.rate) for row in general.vat_breakdown] == ["25.50", "14.00"]
    assert sum(row.gross_minor for row in general.vat_breakdown) == order.total_minor


def test_it_names_who_asked_for_each_refund(world: factories.World) -> None:
    order = factories.order(world)
    token, _raw = ApiToken.issue(
        checkout=world.checkout, name="Helpdesk script", role=CheckoutRole.CUSTOMER_SERVICE
    )
    for key, by in (
        ("by-alice", {"created_by": world.alice}),
        ("by-token", {"created_by_token": token}),
        ("at-provider", {}),
    ):
        Refund.objects.create(
            order=order,
            status=RefundStatus.SUCCEEDED,
            amount_minor=100,
            currency="EUR",
            idempotency_key=key,
            **by,
        )

    refunds = load_order_details(order).refunds

    assert [r.created_by_label for r in refunds] == [
        "alice@example.com",
        "API token Helpdesk script",
        "",
    ]


def test_requires_attention_is_read_from_the_order_without_a_query(
    world: factories.World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    token, _raw = ApiToken.issue(
        checkout=world.checkout, name="script", role=CheckoutRole.CUSTOMER_SERVICE
    )
    late = factories.order(world, created_at=timezone.now() - dt.timedelta(hours=1))
    factories.failed_kajabi_action(world, late)
    fine = factories.order(world, created_at=timezone.now() - dt.timedelta(hours=1))
    late, fine = (get_order_for_token(token, o.number) for o in (late, fine))

    # lines, refunds (none, so no refund lines), attempts, actions, their runs, events,
    # disputes
    with django_assert_num_queries(7):
        details = load_order_details(late)
    # The reasons come from the order's own fields: reading them costs nothing, nor does
    # the order of what was read with it.
    with django_assert_num_queries(0):
        assert details.requires_attention is True
        assert details.attention_reasons == [AttentionReason.ACTIONS]
        assert details.payments
        assert all(attempt.order is late for attempt in details.payments)
        assert all(event.order is late for event in details.timeline)
    assert load_order_details(fine).requires_attention is False
    # However the order was loaded.
    plain = load_order_details(Order.objects.get(pk=late.pk))
    with django_assert_num_queries(0):
        assert plain.requires_attention is True
