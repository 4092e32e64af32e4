"""VAT per rate (issue 13): sales, refunds and net per rate and currency, for a Finnish
merchant's books; the same figures live and from the rollup, on the page, in the API and CSV.

The world's offer sells the course at 25.5 % (€79.00, VAT €16.05) and the workbook bump at
14 % (€9.00, VAT €1.11); in SEK the course costs 1,099.00 kr (VAT 223.30 kr).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test import Client

from orderdesk.lib.money import to_minor
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.orders.pricing import refund_line_vat, vat_share
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.payments.models import Refund, RefundLine
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.payments.refunds.confirmation import refunded_vat
from orderdesk.payments.refunds.provider_events import record_provider_refund
from orderdesk.reports import rollups
from orderdesk.reports.facts import LiveFacts, RolledFacts
from orderdesk.reports.models import Grain, RollupState, SalesDay
from orderdesk.reports.periods import Period
from orderdesk.reports.queries import (
    Scope,
    Valuation,
    VatAmounts,
    VatReport,
    headline_figures,
    vat_report,
)
from orderdesk.reports.rates import Converter
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import Fakes, fakes

__all__ = ["fakes"]

HELSINKI = ZoneInfo("Europe/Helsinki")
PAID = dt.datetime(2026, 11, 9, 12, 0, tzinfo=HELSINKI)
BOOKED = dt.datetime(2026, 11, 10, 10, 0, tzinfo=HELSINKI)
AFTER = dt.datetime(2026, 11, 21, 10, 0, tzinfo=HELSINKI)  # after the period
LATER = dt.datetime(2026, 11, 25, 12, 0, tzinfo=HELSINKI)  # every day above is settled
FIRST, LAST = dt.date(2026, 11, 1), dt.date(2026, 11, 20)
PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": LAST.isoformat()}
R255, R14 = Decimal("25.5"), Decimal("14")


def _refund(order: Order, amounts: dict[str, int], *, via_provider: bool = True) -> Refund:
    lines = {line.name: line.pk for line in order.lines.all()}
    return refund_order(
        order,
        RefundRequest(
            amounts={lines[name]: amount for name, amount in amounts.items()},
            via_provider=via_provider,
        ),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def _scope(w: factories.World) -> Scope:
    return Scope(frozenset({w.checkout.pk}), Period(FIRST, LAST, HELSINKI))


def _table(report: VatReport) -> dict[tuple[str, Decimal | None], tuple[VatAmounts, ...]]:
    return {(r.currency, r.rate): (r.sales, r.refunds, r.net) for r in report.rows}


@pytest.fixture
def books(world: factories.World, fakes: Fakes) -> factories.World:
    """A EUR order with the bump and a SEK order paid on 9 November; the EUR course refunded
    in two parts (one through Stripe, one recorded only) and the bump in full on 10 November;
    another part of the SEK course on 21 November, after the period."""
    with time_machine.travel(PAID, tick=False):
        eur = factories.order(world, add_ons=(world.bump,), created_at=PAID)
        sek = factories.order(world, currency="SEK", created_at=PAID)
    with time_machine.travel(BOOKED, tick=False):
        _refund(eur, {"Photography Masterclass": 3000})
        _refund(eur, {"Photography Masterclass": 4900, "Workbook PDF": 900}, via_provider=False)
    with time_machine.travel(AFTER, tick=False):
        _refund(sek, {"Photography Masterclass": 10000})
    return world


# The course's VAT back in two parts: the second gives back what the first did not, so a
# line refunded in full gives back exactly its VAT (609 + 996 = 1605).
FIRST_PART_VAT = vat_share(1605, 7900, 3000)
EXPECTED = {
    ("EUR", R255): (
        VatAmounts(7900, 1605),
        VatAmounts(7900, 1605),
        VatAmounts(0, 0),
    ),
    ("EUR", R14): (VatAmounts(900, 111), VatAmounts(900, 111), VatAmounts(0, 0)),
    ("SEK", R255): (VatAmounts(109900, 22330), VatAmounts(0, 0), VatAmounts(109900, 22330)),
}


def test_refund_lines_keep_the_vat_they_give_back(books: factories.World) -> None:
    course_vat = list(
        RefundLine.objects.filter(
            order_line__name="Photography Masterclass", refund__currency="EUR"
        )
        .order_by("pk")
        .values_list("vat_minor", flat=True)
    )
    assert FIRST_PART_VAT == 609
    assert course_vat == [609, 1605 - 609]
    assert RefundLine.objects.get(order_line__name="Workbook PDF").vat_minor == 111
    # The credit note says what the books hold.
    second = Refund.objects.filter(currency="EUR").order_by("pk")[1]
    assert [(r.rate, r.vat_minor, r.gross_minor) for r in refunded_vat(second)] == [
        (R255, 996, 4900),
        (R14, 111, 900),
    ]


@pytest.mark.parametrize(
    ("vat", "total", "parts"),
    [
        (1605, 7900, [3000, 4900]),
        (1, 3, [1, 1, 1]),
        (2030, 9990, [1, 3333, 3333, 3323]),
        (0, 500, [500]),
    ],
)
def test_a_line_refunded_in_parts_gives_back_exactly_its_vat(
    vat: int, total: int, parts: list[int]
) -> None:
    before, given = 0, []
    for part in parts:
        given.append(refund_line_vat(vat, total, before, part))
        before += part
    assert sum(given) == vat
    assert given[0] == vat_share(vat, total, parts[0])


def test_vat_per_rate_is_the_same_live_and_from_the_rollup(books: factories.World) -> None:
    with time_machine.travel(LATER, tick=False):
        assert [type(p) for p in _scope(books).facts.parts] == [LiveFacts]
        live = vat_report(_scope(books), Valuation())
        rollups.roll_up(books.checkout)
        assert [type(p) for p in _scope(books).facts.parts] == [RolledFacts]
        rolled = vat_report(_scope(books), Valuation())
    assert _table(live) == EXPECTED
    assert _table(rolled) == EXPECTED
    assert [(t.currency, t.sales, t.refunds) for t in rolled.totals] == [
        ("EUR", VatAmounts(8800, 1716), VatAmounts(8800, 1716)),
        ("SEK", VatAmounts(109900, 22330), VatAmounts(0, 0)),
    ]
    assert live.totals == rolled.totals
    # The rollup holds the two grains, one row per day, currency and rate.
    assert SalesDay.objects.filter(grain=Grain.REFUND_VAT, day=BOOKED.date()).count() == 2
    assert SalesDay.objects.filter(grain=Grain.VAT, day=PAID.date()).count() == 3


def test_refunds_count_on_their_booking_day_like_the_refunds_card(books: factories.World) -> None:
    after = Scope(
        frozenset({books.checkout.pk}),
        Period(AFTER.date(), AFTER.date(), HELSINKI),
    )
    with time_machine.travel(LATER, tick=False):
        rollups.roll_up(books.checkout)
        report = vat_report(after, Valuation())
        card = headline_figures(after, Valuation()).refunds
    sek_vat = vat_share(22330, 109900, 10000)
    assert _table(report) == {
        ("SEK", R255): (VatAmounts(0, 0), VatAmounts(10000, sek_vat), VatAmounts(-10000, -sek_vat))
    }
    assert card == {"SEK": Decimal(100)}


def test_converted_into_one_currency(books: factories.World) -> None:
    with time_machine.travel(LATER, tick=False):
        converter = Converter("EUR")
        report = vat_report(_scope(books), Valuation(converter))
    sek = converter.to_display(109900, "SEK", PAID.date())
    sek_vat = converter.to_display(22330, "SEK", PAID.date())
    assert [(r.currency, r.rate) for r in report.rows] == [("EUR", R255), ("EUR", R14)]
    course = report.rows[0]
    assert course.sales == VatAmounts(
        to_minor(Decimal("79.00") + sek, "EUR"), to_minor(Decimal("16.05") + sek_vat, "EUR")
    )
    assert course.refunds == VatAmounts(7900, 1605)
    assert course.net.gross_minor == course.sales.gross_minor - 7900


def test_a_refund_no_product_line_holds_has_no_rate_and_still_adds_up(
    world: factories.World, fakes: Fakes
) -> None:
    with time_machine.travel(PAID, tick=False):
        order = factories.order(world, created_at=PAID)
    with time_machine.travel(BOOKED, tick=False):
        _refund(order, {"Photography Masterclass": 7900})
        # Made in Stripe's dashboard after the order was refunded in full: no line is left.
        record_provider_refund(
            order.payment_attempts.get(),
            amount_minor=500,
            provider_reference="re_extra",
            actor=Actor.provider("stripe"),
        )
    with time_machine.travel(LATER, tick=False):
        report = vat_report(_scope(world), Valuation())
        card = headline_figures(_scope(world), Valuation()).refunds
    assert _table(report)[("EUR", None)] == (
        VatAmounts(0, 0),
        VatAmounts(500, 0),
        VatAmounts(-500, 0),
    )
    (total,) = report.totals
    assert card == {"EUR": Decimal(total.refunds.gross_minor) / 100} == {"EUR": Decimal(84)}


def _cells(html: str, currency: str) -> list[list[str]]:
    table = re.search(
        rf'<table class="report-table vat-table" data-currency="{currency}">(.*?)</table>',
        html,
        re.S,
    )
    assert table, html
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows[2:]
    ]


def test_the_vat_tab_shows_a_table_per_currency(client: Client, books: factories.World) -> None:
    client.force_login(books.bob)
    with time_machine.travel(LATER, tick=False):
        html = client.get("/reports/", {**PERIOD, "tab": "vat"}).content.decode()
        finnish = client.get(
            "/reports/", {**PERIOD, "tab": "vat"}, headers={"accept-language": "fi"}
        ).content.decode()
    zero = ["€0.00"] * 3
    assert _cells(html, "EUR") == [
        ["25.5 %", "€62.95", "€16.05", "€79.00", "€62.95", "€16.05", "€79.00", *zero],
        ["14 %", "€7.89", "€1.11", "€9.00", "€7.89", "€1.11", "€9.00", *zero],
        ["Total", "€70.84", "€17.16", "€88.00", "€70.84", "€17.16", "€88.00", *zero],
    ]
    assert _cells(html, "SEK")[0][:4] == ["25.5 %", "SEK875.70", "SEK223.30", "SEK1,099.00"]
    assert "Taxable base" in html
    assert "Not split by rate" not in html
    assert "ALV-kanta" in finnish
    assert _cells(finnish, "EUR")[0][:4] == ["25,5 %", "62,95 €", "16,05 €", "79,00 €"]


def test_the_vat_csv_and_the_api_give_the_same_figures(
    client: Client, books: factories.World
) -> None:
    _, raw = ApiToken.issue(checkout=books.checkout, name="books", role=CheckoutRole.VIEWER)
    auth = {"Authorization": f"Bearer {raw}"}
    client.force_login(books.bob)
    with time_machine.travel(LATER, tick=False):
        web = client.get("/reports/vat.csv", PERIOD)
        api_csv = client.get("/api/v1/reports/vat.csv", PERIOD, headers=auth)
        api = client.get("/api/v1/reports/vat", PERIOD, headers=auth)
        local = client.get(
            "/reports/vat.csv", {**PERIOD, "headers": "local"}, headers={"accept-language": "sv"}
        )
    assert web.status_code == api_csv.status_code == api.status_code == 200
    assert web["Content-Disposition"] == 'attachment; filename="vat-2026-11-01-to-2026-11-20.csv"'
    assert web.content == api_csv.content
    rows = list(csv.reader(io.StringIO(web.content.decode())))
    assert rows == [
        [
            "Currency", "VAT rate",
            "Sales taxable base", "Sales VAT", "Sales gross",
            "Refunds taxable base", "Refunds VAT", "Refunds gross",
            "Net taxable base", "Net VAT", "Net gross",
        ],
        ["EUR", "25.5", "62.95", "16.05", "79.00", "62.95", "16.05", "79.00", "0.00", "0.00", "0.00"],
        ["EUR", "14", "7.89", "1.11", "9.00", "7.89", "1.11", "9.00", "0.00", "0.00", "0.00"],
        ["SEK", "25.5", "875.70", "223.30", "1099.00", "0.00", "0.00", "0.00", "875.70", "223.30", "1099.00"],
    ]  # fmt: skip
    assert local.content.decode().startswith("Valuta,Momssats,")
    vat = api.json()["vat"]
    assert vat["rates"][0] == {
        "currency": "EUR",
        "rate": "25.50",
        "sales": {"taxable_base_minor": 6295, "vat_minor": 1605, "gross_minor": 7900},
        "refunds": {"taxable_base_minor": 6295, "vat_minor": 1605, "gross_minor": 7900},
        "net": {"taxable_base_minor": 0, "vat_minor": 0, "gross_minor": 0},
    }
    assert [t["currency"] for t in vat["totals"]] == ["EUR", "SEK"]
    assert vat["totals"][0]["sales"]["vat_minor"] == 1716
    assert client.get("/api/v1/reports/sales", PERIOD, headers=auth).json()["vat"] is None


def test_bad_settings_get_a_clear_400(client: Client, books: factories.World) -> None:
    client.force_login(books.bob)
    answer = client.get("/reports/vat.csv", {"period": "custom", "from": "2026-13-01"})
    assert answer.status_code == 400
    assert b"from" in answer.content


def test_the_migration_stamps_the_vat_of_existing_refund_lines(books: factories.World) -> None:
    migration = importlib.import_module("orderdesk.payments.migrations.0009_refundline_vat_minor")
    stamped = dict(RefundLine.objects.values_list("pk", "vat_minor"))
    RefundLine.objects.update(vat_minor=None)

    migration.stamp_refund_vat(apps, connection.schema_editor())

    assert dict(RefundLine.objects.values_list("pk", "vat_minor")) == stamped


def test_the_migration_empties_the_rollup_for_the_worker_to_build_again(
    books: factories.World,
) -> None:
    migration = importlib.import_module("orderdesk.reports.migrations.0003_vat_per_rate")
    with time_machine.travel(LATER, tick=False):
        rollups.roll_up(books.checkout)
        before = vat_report(_scope(books), Valuation())

        migration.empty_rollup(apps, connection.schema_editor())

        assert not SalesDay.objects.exists()
        assert not RollupState.objects.exists()
        assert vat_report(_scope(books), Valuation()) == before  # live meanwhile
        rollups.roll_up(books.checkout)
        assert [type(p) for p in _scope(books).facts.parts] == [RolledFacts]
        assert vat_report(_scope(books), Valuation()) == before
