"""Fuzzing the Refund dialog's POST (hypothesis): any form is a refund, a 400 or a 409, never
a 500.

A refused form shows why and changes nothing; an accepted one redirects (or, with htmx,
answers with the fresh panel).
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orderdesk.orders.models import Order
from orderdesk.payments.models import Refund
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes

__all__ = ["fake", "fakes"]

text = st.text(max_size=40)
amounts = st.one_of(
    st.sampled_from(["", "0", "1", "1.5", "12,50", "0.001", "-1", "1e3", "9" * 13, "١٢", "²"]),
    text,
)


@pytest.fixture
def order(world: factories.World, fake: FakeProvider) -> Order:
    return factories.order(world, add_ons=(world.bump,))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_the_refund_form_never_fails(
    client: Client, world: factories.World, order: Order, htmx: bool
) -> None:
    client.force_login(world.alice)
    line_ids = list(order.lines.values_list("pk", flat=True))
    field_names = st.one_of(
        st.sampled_from([f"amount_{pk}" for pk in line_ids]),
        st.sampled_from([f"remove_access_{pk}" for pk in line_ids]),
        st.sampled_from(["key", "reason", "refund_payments", "remove_offer_access"]),
        st.sampled_from(["amount_", "amount_x", "amount_²", "amount_99999999999999999999"]),
        text,
    )
    forms = st.lists(st.tuples(field_names, amounts), max_size=8)

    @given(pairs=forms)
    @example(pairs=[("amount_²", "1")])
    @example(pairs=[(f"amount_{line_ids[0]}", "1"), ("reason", "x\x00"), ("key", "k")])
    @example(pairs=[(f"amount_{line_ids[0]}", "1"), ("key", "k\x00")])
    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(pairs: list[tuple[str, str]]) -> None:
        body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
        before = database_state()
        refunds = Refund.objects.count()
        response = client.post(
            f"/orders/{order.number}/refund/",
            body,
            content_type="application/x-www-form-urlencoded",
            headers={"HX-Request": "true"} if htmx else {},
        )
        # 409: a key an earlier example used, with other amounts.
        assert response.status_code in (200, 302, 400, 409), (pairs, response.status_code)
        if response.status_code in (400, 409):
            assert 'role="alert"' in response.content.decode() or "field-error" in (
                response.content.decode()
            ), pairs
            assert database_state() == before, pairs
            assert Refund.objects.count() == refunds, pairs

    fuzz()
