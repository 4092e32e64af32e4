"""The Refunds card of the reports page: every refund kind today, and a period without any."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import time_machine
from django.test import Client

from orderdesk.lib.money import format_money
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.payments.refunds.provider_events import record_provider_refund
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import Fakes, fakes
from orderdesk.workflows.completion import restore_refunded_data

__all__ = ["fakes"]

NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=ZoneInfo("Europe/Helsinki"))


def card(client: Client, label: str, **params: str) -> str:
    html = client.get("/reports/", params).content.decode()
    found = re.search(
        rf'<h2 class="metric-label">{label}</h2>\s*<p class="metric-value">(.*?)</p>', html, re.S
    )
    assert found, html
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def refund(order: Order, amount: int, *, via_provider: bool = True) -> None:
    refund_order(
        order,
        RefundRequest(amounts={order.lines.get().pk: amount}, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    )


def test_a_period_without_refunds_shows_a_dash_not_braces(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)
    with time_machine.travel(NOW, tick=False):
        factories.order(world)
        assert card(client, "Refunds", period="today") == "–"
        assert card(client, "Revenue", period="last_7_days", currency="EUR") != "{}"
        factories.order(world, created_at=NOW - dt.timedelta(days=400))
        assert "{}" not in client.get("/reports/", {"period": "today"}).content.decode()


def test_the_today_card_counts_every_refund_kind(
    client: Client, world: factories.World, fakes: Fakes
) -> None:
    """The card after each kind of refund is booked today, in the order of issue 13's demo."""
    client.force_login(world.alice)
    seen = []
    with time_machine.travel(NOW, tick=False):
        stripe = factories.order(world)
        invoice = factories.order(world, provider="manual", method="invoice")
        epassi = factories.order(world, provider="epassi", method="epassi")
        sek = factories.order(world, currency="SEK", provider="manual", method="invoice")
        dashboard = factories.order(world)
        unchecked = factories.order(world)
        seen.append(("none", card(client, "Refunds", period="today")))
        refund(invoice, invoice.total_minor)
        seen.append(("manual invoice recorded", card(client, "Refunds", period="today")))
        refund(epassi, 2000)
        seen.append(("Epassi partial €20 recorded", card(client, "Refunds", period="today")))
        refund(sek, sek.total_minor)
        seen.append(("SEK invoice recorded", card(client, "Refunds", period="today")))
        refund(stripe, stripe.total_minor)
        seen.append(("Stripe full refund", card(client, "Refunds", period="today")))
        record_provider_refund(
            dashboard.payment_attempts.get(),
            amount_minor=1000,
            provider_reference="re_dash",
            actor=Actor.provider("stripe"),
        )
        seen.append(("€10 in Stripe's dashboard", card(client, "Refunds", period="today")))
        refund(unchecked, 500, via_provider=False)
        seen.append(("€5 with Refund payments unchecked", card(client, "Refunds", period="today")))
        restore_refunded_data(unchecked, actor=Actor.system())
        seen.append(("that €5 reversed by a restore", card(client, "Refunds", period="today")))

    first = invoice.total_minor / 100
    eur = (invoice.total_minor + 2000 + stripe.total_minor) / 100
    kr = format_money(sek.total_minor, "SEK")
    assert seen == [
        ("none", "–"),
        ("manual invoice recorded", f"€{first:.2f}"),
        ("Epassi partial €20 recorded", f"€{first + 20:.2f}"),
        ("SEK invoice recorded", f"€{first + 20:.2f} {kr}"),
        ("Stripe full refund", f"€{eur:.2f} {kr}"),
        ("€10 in Stripe's dashboard", f"€{eur + 10:.2f} {kr}"),
        ("€5 with Refund payments unchecked", f"€{eur + 15:.2f} {kr}"),
        ("that €5 reversed by a restore", f"€{eur + 10:.2f} {kr}"),
    ], seen
