"""How a refund's money goes back is stored on the refund (`Refund.settlement`), decided by its
route when it is asked for, and every outcome reads it, never the wording of its reason
(issue 13). The migration classified the refunds made before, once.
"""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import translation

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund, RefundSettlement, RefundStatus
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.payments.refunds.outcome import Outcome, refund_notice
from orderdesk.payments.refunds.plan import MANUAL_MESSAGE, UNCHECKED_MESSAGE
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import Fakes, fakes

__all__ = ["fakes"]


def _refund(order: Order, amount: int, *, via_provider: bool) -> Refund:
    line = order.lines.get()
    return refund_order(
        order,
        RefundRequest(amounts={line.pk: amount}, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


@pytest.mark.parametrize(
    ("provider", "amount", "via_provider", "settlement", "outcome"),
    [
        ("stripe", 2500, True, RefundSettlement.PROVIDER, Outcome.SUCCEEDED),
        ("stripe", 2500, False, RefundSettlement.UNCHECKED, Outcome.RECORDED),
        ("manual", 7900, True, RefundSettlement.ELSEWHERE, Outcome.ACTION_NEEDED),
        ("epassi", 1000, True, RefundSettlement.ELSEWHERE, Outcome.ACTION_NEEDED),
        ("epassi", 1000, False, RefundSettlement.UNCHECKED, Outcome.RECORDED),
    ],
)
def test_each_route_stores_how_the_money_goes_back(
    world: factories.World,
    fakes: Fakes,
    provider: str,
    amount: int,
    via_provider: bool,
    settlement: RefundSettlement,
    outcome: Outcome,
) -> None:
    order = factories.order(world, provider=provider, method=provider)
    refund = _refund(order, amount, via_provider=via_provider)
    refund.refresh_from_db()
    assert (refund.settlement, refund.via_provider) == (settlement, settlement == "provider")
    assert refund_notice(refund).outcome == outcome


@pytest.mark.parametrize("language", ["en", "fi", "sv"])
def test_a_refund_recorded_with_refund_payments_unchecked_is_told_apart_in_any_language(
    world: factories.World, fakes: Fakes, language: str
) -> None:
    order = factories.order(world)
    with translation.override(language):
        refund = _refund(order, 2500, via_provider=False)
    assert refund.recorded_only_reason != ""
    assert refund.settlement == RefundSettlement.UNCHECKED
    for shown_in in ("en", "fi", "sv"):
        with translation.override(shown_in):
            assert refund_notice(refund).outcome == Outcome.RECORDED


def test_the_field_decides_not_the_reasons_wording(world: factories.World) -> None:
    order = factories.order(world)
    common = {
        "order": order,
        "status": RefundStatus.RECORDED,
        "amount_minor": 100,
        "currency": "EUR",
        "via_provider": False,
    }
    # A reason that reads like "unchecked" but a refund the provider could not make, and the
    # other way round: the outcome follows the field.
    elsewhere = Refund.objects.create(
        **common,
        idempotency_key="a",
        settlement=RefundSettlement.ELSEWHERE,
        recorded_only_reason=UNCHECKED_MESSAGE,
    )
    unchecked = Refund.objects.create(
        **common,
        idempotency_key="b",
        settlement=RefundSettlement.UNCHECKED,
        recorded_only_reason="Refunded by bank transfer, as agreed on the phone.",
    )
    assert refund_notice(elsewhere).outcome == Outcome.ACTION_NEEDED
    assert refund_notice(unchecked).outcome == Outcome.RECORDED


@pytest.mark.parametrize(
    ("via_provider", "settlement"),
    [
        (True, RefundSettlement.UNCHECKED),
        (True, RefundSettlement.ELSEWHERE),
        (False, RefundSettlement.PROVIDER),
    ],
)
def test_the_database_refuses_a_settlement_that_contradicts_via_provider(
    world: factories.World, via_provider: bool, settlement: RefundSettlement
) -> None:
    order = factories.order(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(
            order=order,
            amount_minor=100,
            currency="EUR",
            idempotency_key="x",
            via_provider=via_provider,
            settlement=settlement,
        )


def test_the_api_shows_the_settlement(world: factories.World, fakes: Fakes, client: Client) -> None:
    order = factories.order(world)
    _refund(order, 2500, via_provider=False)
    _, raw = ApiToken.issue(checkout=world.checkout, name="desk", role=CheckoutRole.VIEWER)
    body = client.get(
        f"/api/v1/orders/{order.number}", headers={"Authorization": f"Bearer {raw}"}
    ).json()
    (refund,) = body["refunds"]
    line = order.lines.get()
    assert refund["settlement"] == "unchecked"
    assert refund["lines"][0]["vat_minor"] == round(line.vat_minor * 2500 / line.total_minor)


def test_the_migration_classifies_existing_refunds_by_their_reason_once(
    world: factories.World,
) -> None:
    migration = importlib.import_module("orderdesk.payments.migrations.0010_refund_settlement")
    order = factories.order(world)
    reasons = {
        "english": "“Refund payments” was unchecked: recorded only, no money was returned.",
        "finnish": "”Hyvitä maksut” ei ollut valittuna: vain kirjattu, rahaa ei palautettu.",
        "swedish": "”Återbetala betalningar” var inte ikryssad: endast bokförd, inga pengar"
        " återbetalades.",
        "demo": "Refund payments was not selected: recorded only, no money moved.",
        "invoice": str(MANUAL_MESSAGE),
        "epassi": "Epassi cannot refund part of a payment through its API.",
    }
    for name, reason in reasons.items():
        Refund.objects.create(
            order=order,
            status=RefundStatus.RECORDED,
            amount_minor=100,
            currency="EUR",
            idempotency_key=name,
            via_provider=False,
            # The wrong one of the two, each: the migration must not keep what it finds (before
            # it, every row had the column default; the constraint allows no such row now).
            settlement=RefundSettlement.ELSEWHERE
            if name in ("english", "finnish", "swedish", "demo")
            else RefundSettlement.UNCHECKED,
            recorded_only_reason=reason,
        )
    Refund.objects.create(order=order, amount_minor=100, currency="EUR", idempotency_key="card")

    migration.classify(apps, connection.schema_editor())

    assert dict(Refund.objects.values_list("idempotency_key", "settlement")) == {
        "english": "unchecked",
        "finnish": "unchecked",
        "swedish": "unchecked",
        "demo": "unchecked",
        "invoice": "elsewhere",
        "epassi": "elsewhere",
        "card": "provider",
    }
    # The Finnish and Swedish sentences it knows are the catalogues' own.
    for code in ("fi", "sv"):
        with translation.override(code):
            assert translation.gettext(UNCHECKED_MESSAGE) in migration.UNCHECKED_REASONS
