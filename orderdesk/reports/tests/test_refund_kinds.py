"""Every kind of refund has one booking time and counts alike in every report (issue 13).

The kinds: through the provider, recorded only (a manual invoice, Epassi's partial refund,
"Refund payments" unchecked), made in the provider's dashboard and reported by webhook, left
pending and then confirmed by staff (a provider without a status API), failed (which counts
nowhere), and reversed by "Also restore refunded data" (which counts nowhere either). Each is
booked through the services, then read from the live tables and, days later, from the rollup:
the headline figures, the reports page's Refunds card, the API's report, both CSV exports
(the report's and the orders table's) and the VAT per rate (the VAT tab's read model, the API
and its CSV) must agree both ways.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import uuid
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test import Client

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.orders.pricing import refund_line_vat
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import RefundRequest, confirm_refund, plan, refund_order
from orderdesk.payments.refunds.provider_events import record_provider_refund
from orderdesk.reports import rollups
from orderdesk.reports.facts import LiveFacts, RolledFacts
from orderdesk.reports.models import RollupState
from orderdesk.reports.periods import Period
from orderdesk.reports.queries import Scope, Valuation, VatAmounts, headline_figures, vat_report
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider, Fakes, fake, fakes
from orderdesk.web.tests.test_reports_refunds_card import card
from orderdesk.workflows.completion import restore_refunded_data

__all__ = ["fake", "fakes"]

HELSINKI = ZoneInfo("Europe/Helsinki")
PAID = dt.datetime(2026, 11, 9, 12, 0, tzinfo=HELSINKI)
BOOKED = dt.datetime(2026, 11, 10, 10, 0, tzinfo=HELSINKI)
LATER = dt.datetime(2026, 11, 25, 12, 0, tzinfo=HELSINKI)  # 10 November is settled by then
FIRST, LAST = dt.date(2026, 11, 1), dt.date(2026, 11, 20)


def _refund(order: Order, amount: int, *, via_provider: bool) -> Refund:
    line = order.lines.get()
    return refund_order(
        order,
        RefundRequest(amounts={line.pk: amount}, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def through_provider(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID)
    assert _refund(order, 2500, via_provider=True).status == RefundStatus.SUCCEEDED
    return order, 2500


def recorded_manual_invoice(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID, provider="manual", method="invoice")
    assert _refund(order, order.total_minor, via_provider=True).status == RefundStatus.RECORDED
    return order, order.total_minor


def recorded_epassi_partial(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID, provider="epassi", method="epassi")
    assert _refund(order, 1000, via_provider=True).status == RefundStatus.RECORDED
    return order, 1000


def recorded_payments_unchecked(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID)
    assert _refund(order, 1500, via_provider=False).status == RefundStatus.RECORDED
    return order, 1500


def in_provider_dashboard(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID)
    attempt = order.payment_attempts.get()
    record_provider_refund(
        attempt, amount_minor=1200, provider_reference="re_dash", actor=Actor.provider("stripe")
    )
    assert order.refunds.get().status == RefundStatus.SUCCEEDED
    return order, 1200


def confirmed_by_staff(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID, provider="epassi", method="epassi")
    epassi = plan.adapter_for(order.payment_attempts.get())
    assert isinstance(epassi, FakeProvider)
    epassi.answer, epassi.checkable = RefundResult("pending"), False
    try:
        pending = _refund(order, order.total_minor, via_provider=True)
        assert pending.status == RefundStatus.PENDING
        confirm_refund(pending, refunded=True, actor=Actor.of_user(w.sam))
    finally:
        epassi.answer, epassi.checkable = RefundResult("succeeded"), True
    return order, order.total_minor


def failed_at_the_provider(w: factories.World) -> tuple[Order, int]:
    order = factories.order(w, created_at=PAID)
    stripe = plan.adapter_for(order.payment_attempts.get())
    assert isinstance(stripe, FakeProvider)
    stripe.answer = RefundResult("failed", message="Stripe: card expired")
    try:
        assert _refund(order, 2500, via_provider=True).status == RefundStatus.FAILED
    finally:
        stripe.answer = RefundResult("succeeded")
    return order, 0  # no money moved: it counts nowhere


def reversed_by_restore(w: factories.World) -> tuple[Order, int]:
    order, _ = recorded_payments_unchecked(w)
    restore_refunded_data(order, actor=Actor.system())
    assert order.refunds.get().status == RefundStatus.REVERSED
    return order, 0  # a reversed refund counts nowhere


KINDS: dict[str, Callable[[factories.World], tuple[Order, int]]] = {
    "through the provider": through_provider,
    "recorded: manual invoice": recorded_manual_invoice,
    "recorded: Epassi partial": recorded_epassi_partial,
    "recorded: Refund payments unchecked": recorded_payments_unchecked,
    "made in the provider's dashboard": in_provider_dashboard,
    "pending, confirmed by staff": confirmed_by_staff,
    "failed at the provider": failed_at_the_provider,
    "reversed by a restore": reversed_by_restore,
}


def _scope(w: factories.World) -> Scope:
    return Scope(frozenset({w.checkout.pk}), Period(FIRST, LAST, HELSINKI))


def _csv_refunded(client: Client, url: str, params: dict[str, str], order: Order) -> frozenset[str]:
    export = client.get(url, params)
    text = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["Order number"] == str(order.number)]
    return frozenset(r["Order refunded"] for r in rows)


def _figures(w: factories.World, client: Client, raw: str, order: Order) -> dict[str, object]:
    """Every place a refund shows: headline figures, the reports page, the API report, the
    report's CSV export and the orders table's (web and API)."""
    headline = headline_figures(_scope(w), Valuation())
    period = {"period": "custom", "from": FIRST.isoformat(), "to": LAST.isoformat()}
    auth = {"Authorization": f"Bearer {raw}"}
    api = client.get("/api/v1/reports/sales", period, headers=auth).json()["headline"]
    client.force_login(w.sam)
    exports = {
        _csv_refunded(client, "/reports/export.csv", period, order),
        _csv_refunded(client, "/orders/export.csv", {"number": str(order.number)}, order),
    }
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    exports |= {
        _csv_refunded(client, "/api/v1/reports/export.csv", period, order),
        _csv_refunded(client, "/api/v1/orders/export.csv", {"number": str(order.number)}, order),
    }
    vat_csv = client.get("/api/v1/reports/vat.csv", period, headers=auth)
    del client.defaults["HTTP_AUTHORIZATION"]
    vat_api = client.get("/api/v1/reports/vat", period, headers=auth).json()["vat"]
    return {
        "VAT per rate": [
            (r.currency, r.rate, r.sales, r.refunds)
            for r in vat_report(_scope(w), Valuation()).rows
        ],
        "API VAT per rate": [
            (r["currency"], r["rate"], r["refunds"]["gross_minor"], r["refunds"]["vat_minor"])
            for r in vat_api["rates"]
        ],
        "VAT CSV refunds": [
            (r["VAT rate"], r["Refunds gross"], r["Refunds VAT"])
            for r in csv.DictReader(io.StringIO(vat_csv.content.decode()))
        ],
        "refunds card": headline.refunds,
        "reports page's Refunds card": card(client, "Refunds", **period),
        "net revenue": headline.net_revenue,
        "API refunds": api["refunds"],
        "API net revenue": api["net_revenue"],
        "CSV order refunded, in all four exports": exports,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_refund_kind_counts_alike_live_and_rolled_up(
    world: factories.World, client: Client, fakes: Fakes, kind: str
) -> None:
    _, raw = ApiToken.issue(checkout=world.checkout, name="reports", role=CheckoutRole.VIEWER)
    with time_machine.travel(BOOKED, tick=False):
        order, refunded = KINDS[kind](world)

    total = order.total_minor
    eur = Decimal(refunded) / 100
    line = order.lines.get()
    vat = refund_line_vat(line.vat_minor, line.total_minor, 0, refunded)
    expected = {
        "VAT per rate": [
            ("EUR", Decimal("25.5"), VatAmounts(total, line.vat_minor), VatAmounts(refunded, vat))
        ],
        "API VAT per rate": [("EUR", "25.50", refunded, vat)],
        "VAT CSV refunds": [("25.5", f"{eur:.2f}", f"{Decimal(vat) / 100:.2f}")],
        "refunds card": {"EUR": eur} if refunded else {},
        "reports page's Refunds card": f"€{eur:.2f}" if refunded else "–",
        "net revenue": {"EUR": Decimal(total) / 100 - eur},
        "API refunds": [{"currency": "EUR", "amount_minor": refunded}] if refunded else [],
        "API net revenue": [{"currency": "EUR", "amount_minor": total - refunded}],
        "CSV order refunded, in all four exports": {frozenset({f"{eur:.2f}"})},
    }
    booked = order.refunds.filter(status__in=RefundStatus.BOOKED)
    # One booking time for every kind: the moment it was booked.
    assert set(booked.values_list("settled_at", flat=True)) <= {BOOKED}

    with time_machine.travel(LATER, tick=False):
        assert [type(p) for p in _scope(world).facts.parts] == [LiveFacts]
        live = _figures(world, client, raw, order)
        rollups.roll_up(world.checkout)
        assert [type(p) for p in _scope(world).facts.parts] == [RolledFacts]
        rolled = _figures(world, client, raw, order)

    assert live == expected
    assert rolled == expected


def test_the_refunds_card_is_the_sum_of_every_refund_booked_in_the_period(
    world: factories.World, fake: FakeProvider
) -> None:
    with time_machine.travel(BOOKED, tick=False):
        for make in KINDS.values():
            make(world)
    booked = Refund.objects.filter(status__in=RefundStatus.BOOKED)
    assert booked.count() == 6  # all but the failed and the reversed one
    total = sum(r.amount_minor for r in booked)

    with time_machine.travel(LATER, tick=False):
        live = headline_figures(_scope(world), Valuation()).refunds
        rollups.roll_up(world.checkout)
        rolled = headline_figures(_scope(world), Valuation()).refunds

    assert live == rolled == {"EUR": Decimal(total) / 100}


def test_the_migration_books_old_recorded_refunds_and_rebuilds_their_days(
    world: factories.World, fakes: Fakes
) -> None:
    migration = importlib.import_module("orderdesk.reports.migrations.0002_book_recorded_refunds")
    with time_machine.travel(BOOKED, tick=False):
        recorded_payments_unchecked(world)
        reversed_by_restore(world)
        through_provider(world)
    # Refunds recorded before booking stamped them had no booking time.
    Refund.objects.exclude(status=RefundStatus.SUCCEEDED).update(settled_at=None)
    with time_machine.travel(LATER, tick=False):
        rollups.roll_up(world.checkout)
        assert headline_figures(_scope(world), Valuation()).refunds == {"EUR": Decimal(25)}

        migration.book_recorded_refunds(apps, connection.schema_editor())

        assert set(Refund.objects.values_list("settled_at", flat=True)) == {BOOKED}
        state = RollupState.objects.get(checkout=world.checkout)
        assert state.complete_until == BOOKED.date()  # 10 November and later read live
        assert headline_figures(_scope(world), Valuation()).refunds == {"EUR": Decimal(40)}
        rollups.roll_up(world.checkout)  # the worker's job builds the days again
        assert [type(p) for p in _scope(world).facts.parts] == [RolledFacts]
        assert headline_figures(_scope(world), Valuation()).refunds == {"EUR": Decimal(40)}
