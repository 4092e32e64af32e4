"""Pricing: properties that must hold for any lines and discount, plus worked examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.orders.models import LineKind
from orderdesk.orders.pricing import (
    Discount,
    LineInput,
    PricingError,
    _allocate,
    price_lines,
    quote_offer,
    round_half_up,
    vat_included,
)
from orderdesk.testing import factories

rates = st.sampled_from([Decimal(r) for r in ("0", "10", "14", "24", "25.5", "6", "100")])
lines = st.lists(
    st.builds(
        LineInput,
        kind=st.sampled_from(list(LineKind)),
        name=st.just("Product"),
        unit_price_minor=st.integers(min_value=0, max_value=10_000_000),
        vat_rate=rates,
        quantity=st.integers(min_value=1, max_value=5),
        list_price_minor=st.one_of(st.none(), st.integers(min_value=0, max_value=10_000_000)),
        product_id=st.integers(min_value=1, max_value=6),
    ),
    min_size=1,
    max_size=8,
)
product_sets = st.one_of(st.none(), st.frozensets(st.integers(min_value=1, max_value=6)))
percent_discounts = st.builds(
    Discount,
    percent=st.decimals(min_value=0, max_value=100, places=2),
    product_ids=product_sets,
    exclude_discounted=st.booleans(),
)
fixed_discounts = st.builds(
    Discount,
    fixed_minor=st.integers(min_value=0, max_value=50_000_000),
    product_ids=product_sets,
    exclude_discounted=st.booleans(),
)
discounts = st.one_of(st.none(), percent_discounts, fixed_discounts)


@given(lines, discounts)
def test_it_makes_lines_sum_to_the_total(items: list[LineInput], discount: Discount | None) -> None:
    quote = price_lines("EUR", items, discount)

    assert sum(line.total_minor for line in quote.lines) == quote.total_minor
    assert quote.subtotal_minor - quote.discount_minor == quote.total_minor
    assert sum(line.vat_minor for line in quote.lines) == quote.vat_minor


@given(lines, discounts)
def test_it_makes_the_vat_breakdown_sum_to_the_vat_total(
    items: list[LineInput], discount: Discount | None
) -> None:
    quote = price_lines("EUR", items, discount)
    breakdown = quote.vat_breakdown()

    assert sum(row.vat_minor for row in breakdown) == quote.vat_minor
    assert sum(row.gross_minor for row in breakdown) == quote.total_minor
    assert all(row.net_minor + row.vat_minor == row.gross_minor for row in breakdown)
    assert len({row.rate for row in breakdown}) == len(breakdown)


@given(lines, discounts)
def test_it_never_discounts_a_line_below_zero_or_taxes_more_than_it_costs(
    items: list[LineInput], discount: Discount | None
) -> None:
    quote = price_lines("EUR", items, discount)

    for line in quote.lines:
        assert 0 <= line.discount_minor <= line.input.gross_minor
        assert 0 <= line.vat_minor <= line.total_minor
        assert line.vat_minor == vat_included(line.total_minor, line.input.vat_rate)


@given(lines, fixed_discounts)
def test_it_never_gives_a_fixed_discount_above_the_eligible_total(
    items: list[LineInput], discount: Discount
) -> None:
    quote = price_lines("EUR", items, discount)
    eligible = sum(line.gross_minor for line in items if discount.applies_to(line))

    assert discount.fixed_minor is not None
    assert quote.discount_minor == min(discount.fixed_minor, eligible)
    for line in quote.lines:
        if not discount.applies_to(line.input):
            assert line.discount_minor == 0


@given(lines, percent_discounts)
def test_it_takes_a_rounded_percentage_off_each_eligible_line(
    items: list[LineInput], discount: Discount
) -> None:
    quote = price_lines("EUR", items, discount)

    assert discount.percent is not None
    for line in quote.lines:
        expected = (
            round_half_up(Decimal(line.input.gross_minor) * discount.percent / 100)
            if discount.applies_to(line.input)
            else 0
        )
        assert line.discount_minor == expected


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=10),
)
def test_it_allocates_exactly_the_amount_when_there_is_weight(
    amount: int, weights: list[int]
) -> None:
    shares = _allocate(amount, weights)

    if sum(weights) == 0:
        assert shares == [0] * len(weights)
    else:
        assert sum(shares) == amount
        assert all(share >= 0 for share in shares)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", 1), ("1.5", 2), ("2.5", 3), ("3.5", 4), ("2.4999", 2), ("2.5001", 3), ("0", 0)],
)
def test_it_rounds_half_up_not_to_even(value: str, expected: int) -> None:
    assert round_half_up(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        (7900, "25.5", 1605),  # 1605.18
        (900, "14", 111),  # 110.53
        (101, "100", 51),  # exactly 50.5: half-up, where banker's rounding gives 50
        (12500, "25", 2500),
        (1, "25.5", 0),  # 0.20
        (5000, "0", 0),
        (0, "24", 0),
    ],
)
def test_it_extracts_the_vat_contained_in_a_price(gross: int, rate: str, vat: int) -> None:
    assert vat_included(gross, Decimal(rate)) == vat


def test_it_rounds_a_half_cent_percentage_discount_up() -> None:
    line = LineInput(LineKind.MAIN, "Course", unit_price_minor=10, vat_rate=Decimal("24"))

    quote = price_lines("EUR", [line], Discount(percent=Decimal(15)))

    assert quote.lines[0].discount_minor == 2  # 1.5 cents
    assert quote.total_minor == 8


def test_it_spreads_a_fixed_discount_by_line_value() -> None:
    cheap = LineInput(LineKind.MAIN, "A", unit_price_minor=1, vat_rate=Decimal(0), product_id=1)
    dear = LineInput(LineKind.MAIN, "B", unit_price_minor=2, vat_rate=Decimal(0), product_id=2)

    quote = price_lines("EUR", [cheap, dear], Discount(fixed_minor=2))

    assert [line.discount_minor for line in quote.lines] == [1, 1]
    assert quote.total_minor == 1


def test_it_skips_already_discounted_lines_when_the_code_says_so() -> None:
    on_sale = LineInput(
        LineKind.MAIN, "A", unit_price_minor=800, list_price_minor=1000, vat_rate=Decimal(0)
    )
    full = LineInput(LineKind.ORDER_BUMP, "B", unit_price_minor=500, vat_rate=Decimal(0))

    quote = price_lines(
        "EUR", [on_sale, full], Discount(percent=Decimal(50), exclude_discounted=True)
    )

    assert [line.discount_minor for line in quote.lines] == [0, 250]


def test_it_prices_an_offer_with_its_overrides_and_add_ons(world: factories.World) -> None:
    quote = quote_offer(world.offer, "EUR", add_ons=[world.bump, world.upsell])

    assert [(line.input.kind, line.total_minor) for line in quote.lines] == [
        (LineKind.MAIN, 7900),
        (LineKind.ORDER_BUMP, 900),
        (LineKind.PRE_UPSELL, 14900),
    ]
    assert quote.vat_minor == 1605 + 111 + 3027  # 3027.49


def test_it_replaces_the_upgraded_product(world: factories.World) -> None:
    quote = quote_offer(world.offer, "EUR", add_ons=[world.upgrade])

    assert [(line.input.kind, line.input.name) for line in quote.lines] == [
        (LineKind.UPGRADE, "Masterclass VIP")
    ]
    assert quote.total_minor == 19900


def test_it_refuses_a_currency_the_offer_is_not_sold_in(world: factories.World) -> None:
    with pytest.raises(PricingError, match=r"Masterclass launch is not sold in GBP\.") as refused:
        quote_offer(world.offer, "GBP")

    assert refused.value.code == "currency_not_sold"
