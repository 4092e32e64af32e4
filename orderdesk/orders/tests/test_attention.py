"""The reasons an order requires attention, read from a loaded order, are the tab's."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.conf import settings

from orderdesk.orders.models import (
    ActionHealth,
    AttentionReason,
    Order,
    OrderStatus,
    attention_reasons_at,
)
from orderdesk.testing import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC)
CUTOFF = NOW - dt.timedelta(minutes=settings.REQUIRES_ATTENTION_MINUTES)


def test_attention_reasons_at_agrees_with_attention_q() -> None:
    """Every combination of the fields the reasons read, on both sides of the actions' time
    limit: the Python reading gives exactly the orders the tab's queries give, per reason."""
    w = factories.world()
    paid_times = (None, CUTOFF - dt.timedelta(seconds=1), CUTOFF, CUTOFF + dt.timedelta(seconds=1))
    combos = list(
        itertools.product(
            OrderStatus.values, ActionHealth.values, paid_times, (False, True), (False, True)
        )
    )
    Order.objects.bulk_create(
        Order(
            organization=w.org,
            checkout=w.checkout,
            number=number,
            currency="EUR",
            status=status,
            action_health=health,
            paid_at=paid_at,
            dispute_open=dispute,
            refund_reversal_open=reversal,
            created_at=NOW - dt.timedelta(days=1),
        )
        for number, (status, health, paid_at, dispute, reversal) in enumerate(combos, 1)
    )
    orders = list(Order.objects.filter(checkout=w.checkout))
    assert len(orders) == len(combos)
    for reason in AttentionReason:
        by_sql = set(
            Order.objects.requiring_attention(NOW, reason=reason)
            .filter(checkout=w.checkout)
            .values_list("pk", flat=True)
        )
        by_python = {o.pk for o in orders if reason in attention_reasons_at(o, NOW)}
        assert by_python == by_sql, reason
        # Each reason holds for some orders and not for others: the comparison has teeth.
        assert 0 < len(by_sql) < len(orders)


def test_reasons_come_in_the_tabs_order() -> None:
    order = Order(
        status=OrderStatus.PAID,
        action_health=ActionHealth.FAILED,
        paid_at=CUTOFF - dt.timedelta(minutes=1),
        dispute_open=True,
        refund_reversal_open=True,
    )
    assert attention_reasons_at(order, NOW) == list(AttentionReason)
    assert attention_reasons_at(order, NOW, minutes=24 * 60) == [
        AttentionReason.DISPUTE,
        AttentionReason.REFUND_REVERSED,
    ]
