"""Order totals from configured prices, in integer minor units.

Prices include VAT. Each line's VAT is `gross × rate / (100 + rate)` rounded half-up to the
minor unit; order totals are sums of the rounded lines, so lines always add up to the total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from orderdesk.catalog.models import (
    AddOn,
    AddOnEffect,
    AddOnKind,
    DiscountCode,
    DiscountKind,
    Offer,
)
from orderdesk.orders.models import LineKind, Order, OrderStatus


class PricingError(Exception):
    """The order cannot be priced as asked; the message is meant for the customer or staff.

    `code` tells API clients which rule refused, e.g. `discount_expired`.
    """

    def __init__(self, message: str, *, code: str = "pricing_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class LineInput:
    kind: LineKind
    name: str
    unit_price_minor: int
    vat_rate: Decimal
    quantity: int = 1
    # The product's own price; above unit_price_minor when the offer sells it cheaper.
    list_price_minor: int | None = None
    product_id: int | None = None
    add_on_id: int | None = None

    @property
    def gross_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    @property
    def is_discounted(self) -> bool:
        return self.list_price_minor is not None and self.unit_price_minor < self.list_price_minor


@dataclass(frozen=True)
class Discount:
    """A discount code reduced to what pricing needs."""

    percent: Decimal | None = None
    fixed_minor: int | None = None
    # None: every product is eligible.
    product_ids: frozenset[int] | None = None
    exclude_discounted: bool = False

    def applies_to(self, line: LineInput) -> bool:
        if self.product_ids is not None and line.product_id not in self.product_ids:
            return False
        return not (self.exclude_discounted and line.is_discounted)


@dataclass(frozen=True)
class PricedLine:
    input: LineInput
    discount_minor: int
    vat_minor: int

    @property
    def total_minor(self) -> int:
        return self.input.gross_minor - self.discount_minor


@dataclass(frozen=True)
class VatRow:
    rate: Decimal
    net_minor: int
    vat_minor: int
    gross_minor: int


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[PricedLine, ...]

    @property
    def subtotal_minor(self) -> int:
        return sum(line.input.gross_minor for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.lines)

    def vat_breakdown(self) -> list[VatRow]:
        return vat_breakdown(
            (line.input.vat_rate, line.total_minor, line.vat_minor) for line in self.lines
        )


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_share(vat_minor: int, total_minor: int, part_minor: int) -> int:
    """The VAT in `part_minor` of a line of `total_minor` holding `vat_minor` VAT (a refund
    of part of it), rounded half-up to the minor unit; the CSV export's "Line VAT refunded"
    counts it so, and refunds in parts through `refund_line_vat`."""
    if total_minor <= 0:
        return 0
    return round_half_up(Decimal(vat_minor) * part_minor / total_minor)


def refund_line_vat(vat_minor: int, total_minor: int, refunded_before: int, part_minor: int) -> int:
    """The VAT in a refund of `part_minor` of a line of which `refunded_before` was refunded.

    The VAT in everything refunded of the line so far, less the VAT already given back: the
    first refund of a line gives `vat_share(part)`, and a line refunded in several parts gives
    back exactly its VAT once it is refunded in full, however the parts rounded. The books'
    refund lines (`RefundLine.vat_minor`), the reports' VAT per rate and the emailed credit
    note all take it from here.
    """
    before = min(max(refunded_before, 0), total_minor)
    after = min(before + part_minor, total_minor)
    return vat_share(vat_minor, total_minor, after) - vat_share(vat_minor, total_minor, before)


def vat_included(gross_minor: int, rate: Decimal) -> int:
    """The VAT contained in a VAT-inclusive amount, rounded half-up to the minor unit."""
    if rate == 0 or gross_minor == 0:
        return 0
    return round_half_up(Decimal(gross_minor) * rate / (Decimal(100) + rate))


def vat_breakdown(rows: Iterable[tuple[Decimal, int, int]]) -> list[VatRow]:
    """Group (rate, gross, vat) rows per rate; net is gross − VAT so each row adds up."""
    totals: dict[Decimal, tuple[int, int]] = {}
    for rate, gross, vat in rows:
        previous_gross, previous_vat = totals.get(rate, (0, 0))
        totals[rate] = (previous_gross + gross, previous_vat + vat)
    return [
        VatRow(rate=rate, net_minor=gross - vat, vat_minor=vat, gross_minor=gross)
        for rate, (gross, vat) in sorted(totals.items(), reverse=True)
    ]


def _allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` over `weights` proportionally; largest remainders take the leftover units."""
    total = sum(weights)
    if total == 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = sorted(
        range(len(weights)), key=lambda i: (amount * weights[i] % total, weights[i]), reverse=True
    )
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def price_lines(
    currency: str, lines: Sequence[LineInput], discount: Discount | None = None
) -> Quote:
    """Price the given lines, spreading a discount over the lines it applies to."""
    discounts = [0] * len(lines)
    if discount is not None:
        eligible = [i for i, line in enumerate(lines) if discount.applies_to(line)]
        if discount.percent is not None:
            for i in eligible:
                discounts[i] = round_half_up(Decimal(lines[i].gross_minor) * discount.percent / 100)
        elif discount.fixed_minor is not None:
            weights = [lines[i].gross_minor for i in eligible]
            amount = min(discount.fixed_minor, sum(weights))
            for i, share in zip(eligible, _allocate(amount, weights), strict=True):
                discounts[i] = share
    priced = []
    for line, line_discount in zip(lines, discounts, strict=True):
        line_discount = min(line_discount, line.gross_minor)
        total = line.gross_minor - line_discount
        priced.append(
            PricedLine(
                input=line,
                discount_minor=line_discount,
                vat_minor=vat_included(total, line.vat_rate),
            )
        )
    return Quote(currency=currency, lines=tuple(priced))


def discount_from_code(code: DiscountCode, currency: str) -> Discount:
    product_ids = frozenset(code.products.values_list("pk", flat=True)) or None
    if code.kind == DiscountKind.PERCENTAGE:
        return Discount(
            percent=code.percent,
            product_ids=product_ids,
            exclude_discounted=code.exclude_discounted,
        )
    fixed = code.fixed_amounts.get(currency)
    if fixed is None:
        raise PricingError(
            f"Discount code {code.code} cannot be used with {currency}.",
            code="discount_currency",
        )
    return Discount(
        fixed_minor=int(fixed), product_ids=product_ids, exclude_discounted=code.exclude_discounted
    )


def check_discount_code(code: DiscountCode, *, email: str, currency: str, now: dt.datetime) -> None:
    """Raise PricingError with a customer-facing message if the code cannot be used now."""
    if not code.is_active:
        raise PricingError(f"Discount code {code.code} is not active.", code="discount_inactive")
    if code.valid_from and now < code.valid_from:
        raise PricingError(
            f"Discount code {code.code} is not valid yet.", code="discount_not_yet_valid"
        )
    if code.valid_until and now > code.valid_until:
        raise PricingError(f"Discount code {code.code} has expired.", code="discount_expired")
    if code.usage_limit is not None and code.times_used >= code.usage_limit:
        raise PricingError(f"Discount code {code.code} has been used up.", code="discount_used_up")
    if code.kind == DiscountKind.FIXED and currency not in code.fixed_amounts:
        raise PricingError(
            f"Discount code {code.code} cannot be used with {currency}.", code="discount_currency"
        )
    if code.per_email_limit is not None and email:
        used = Order.objects.filter(
            discount_code=code, customer_email=email.lower(), status__in=OrderStatus.WAS_PAID
        ).count()
        if used >= code.per_email_limit:
            raise PricingError(
                f"Discount code {code.code} has already been used with this email address.",
                code="discount_email_limit",
            )


def _price_in(overrides: dict[str, int], prices: dict[str, int], currency: str, name: str) -> int:
    if currency in overrides:
        return int(overrides[currency])
    if currency in prices:
        return prices[currency]
    raise PricingError(f"{name} has no price in {currency}.", code="no_price")


@dataclass(frozen=True)
class ItemPrices:
    """An offer item with what pricing reads of its product: the open path reads these in
    one query with the link (`orders.services.open_order`), the others from the models."""

    pk: int
    product_id: int
    name: str
    vat_rate: Decimal
    quantity: int
    price_overrides: dict[str, int]
    prices: dict[str, int]


def offer_items(offer: Offer) -> list[ItemPrices]:
    items = offer.items.select_related("product").prefetch_related("product__prices")
    return [
        ItemPrices(
            pk=item.pk,
            product_id=item.product.pk,
            name=item.product.name,
            vat_rate=item.product.vat_rate,
            quantity=item.quantity,
            price_overrides=item.price_overrides,
            prices={price.currency: price.amount_minor for price in item.product.prices.all()},
        )
        for item in items
    ]


def offer_lines(
    offer: Offer,
    currency: str,
    add_ons: Sequence[AddOn] = (),
    *,
    items: Sequence[ItemPrices] | None = None,
) -> list[LineInput]:
    """The lines of an order for `offer` in `currency` with the chosen add-ons.

    An upgrade add-on replaces the offer product it upgrades; other add-ons are added after
    the offer's products, order bumps before pre-upsells. `items` are the offer's items when
    the caller has read them already.
    """
    upgraded = {
        add_on.upgrades_id: add_on for add_on in add_ons if add_on.effect == AddOnEffect.UPGRADE
    }
    lines: list[LineInput] = []
    for item in offer_items(offer) if items is None else items:
        if item.pk in upgraded:
            continue
        unit = _price_in(item.price_overrides, item.prices, currency, item.name)
        lines.append(
            LineInput(
                kind=LineKind.MAIN,
                name=item.name,
                unit_price_minor=unit,
                quantity=item.quantity,
                vat_rate=item.vat_rate,
                list_price_minor=item.prices.get(currency, unit),
                product_id=item.product_id,
            )
        )
    kind_order = {AddOnKind.ORDER_BUMP: 0, AddOnKind.PRE_UPSELL: 1}
    for add_on in sorted(
        add_ons,
        key=lambda a: (a.effect == AddOnEffect.UPGRADE, kind_order[AddOnKind(a.kind)], a.position),
    ):
        product = add_on.product
        prices = {price.currency: price.amount_minor for price in product.prices.all()}
        unit = _price_in(add_on.price_overrides, prices, currency, product.name)
        if add_on.effect == AddOnEffect.UPGRADE:
            kind = LineKind.UPGRADE
        elif add_on.kind == AddOnKind.ORDER_BUMP:
            kind = LineKind.ORDER_BUMP
        else:
            kind = LineKind.PRE_UPSELL
        lines.append(
            LineInput(
                kind=kind,
                name=product.name,
                unit_price_minor=unit,
                vat_rate=product.vat_rate,
                list_price_minor=prices.get(currency, unit),
                product_id=product.pk,
                add_on_id=add_on.pk,
            )
        )
    return lines


def quote_offer(
    offer: Offer,
    currency: str,
    *,
    add_ons: Sequence[AddOn] = (),
    discount_code: DiscountCode | None = None,
    items: Sequence[ItemPrices] | None = None,
) -> Quote:
    """Price an order for `offer` from the configured prices (`items`: see `offer_lines`)."""
    if offer.currencies and currency not in offer.currencies:
        raise PricingError(f"{offer.name} is not sold in {currency}.", code="currency_not_sold")
    discount = discount_from_code(discount_code, currency) if discount_code else None
    return price_lines(currency, offer_lines(offer, currency, add_ons, items=items), discount)
