"""What is for sale and who buys it: the checkouts' catalogs read once, priced once per combination.

The draws here decide an order before anything happens to it: the checkout and link it comes
through, the customer, the currency, the add-ons, the discount code and where it ends up.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from orderdesk.catalog.models import (
    ActionConfig,
    ActionLevel,
    AddOn,
    AddOnEffect,
    AddOnKind,
    CheckoutLink,
    DiscountCode,
    Offer,
)
from orderdesk.demo import people
from orderdesk.demo.bulk import BulkWriter
from orderdesk.demo.generator.tables import Row
from orderdesk.orders.models import OrderLine, OrderStatus
from orderdesk.orders.pricing import PricingError, Quote, quote_offer
from orderdesk.organizations.models import (
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Membership,
    OrgRole,
)

S = OrderStatus
# Link weights: ads and email bring most orders; the first links of each checkout are its biggest.
LINK_WEIGHTS = (9, 6, 5, 4, 3, 3, 2, 2, 1)
CHECKOUT_WEIGHTS = (7, 3)
HEARD_ABOUT = ("Instagram", "A friend", "Google", "Newsletter", "Podcast", "TikTok")
STREETS = ("Main", "Park", "Lake", "Mill", "Forest")
# The customer columns of an order that never got past the checkout's first step.
NO_DETAILS = ("", "", "", "", "", "", "", "", "", "{}", None)

Staff = list[tuple[int | None, str]]  # (user id, email)


@dataclass
class LinkPlan:
    link: CheckoutLink
    offer: Offer
    tags_json: str


@dataclass
class CheckoutPlan:
    checkout: Checkout
    links: list[LinkPlan]
    link_table: list[int]
    add_ons: dict[int, list[AddOn]]
    add_on_currencies: dict[int, set[str]]
    codes: list[DiscountCode]
    configs_checkout: list[ActionConfig]
    configs_offer: dict[int, list[ActionConfig]]
    configs_product: dict[int, list[ActionConfig]]


def weighted(weights: tuple[int, ...], count: int) -> list[int]:
    """A pick table over `count` items, the first weighted by `weights`, the rest by 1."""
    return people.weighted_table([weights[i] if i < len(weights) else 1 for i in range(count)])


def plan_checkout(checkout: Checkout) -> CheckoutPlan:
    """The checkout's active links, add-ons, discount codes and actions, read once."""
    links = [
        LinkPlan(link=link, offer=link.offer, tags_json=json.dumps(link.tags))
        for link in CheckoutLink.objects.filter(checkout=checkout, is_active=True)
        .select_related("offer")
        .order_by("pk")
    ]
    if not links:
        raise ValueError(f"Checkout {checkout.slug} has no active checkout links to sell through")
    add_ons: dict[int, list[AddOn]] = {}
    for add_on in (
        AddOn.objects.filter(offer__checkout=checkout)
        .select_related("product")
        .prefetch_related("product__prices")
        .order_by("pk")
    ):
        add_ons.setdefault(add_on.offer_id, []).append(add_on)
    configs = list(ActionConfig.objects.filter(checkout=checkout, is_active=True).order_by("pk"))
    configs_offer: dict[int, list[ActionConfig]] = {}
    configs_product: dict[int, list[ActionConfig]] = {}
    for config in configs:
        if config.level == ActionLevel.OFFER and config.offer_id:
            configs_offer.setdefault(config.offer_id, []).append(config)
        elif config.level == ActionLevel.PRODUCT and config.product_id:
            configs_product.setdefault(config.product_id, []).append(config)
    return CheckoutPlan(
        checkout=checkout,
        links=links,
        link_table=weighted(LINK_WEIGHTS, len(links)),
        add_ons=add_ons,
        add_on_currencies={
            add_on.pk: {p.currency for p in add_on.product.prices.all()}
            | set(add_on.price_overrides)
            for offer_add_ons in add_ons.values()
            for add_on in offer_add_ons
        },
        codes=list(
            DiscountCode.objects.filter(checkout=checkout, is_active=True)
            .prefetch_related("products")
            .order_by("pk")
        ),
        configs_checkout=[c for c in configs if c.level == ActionLevel.CHECKOUT],
        configs_offer=configs_offer,
        configs_product=configs_product,
    )


def staff_of(checkout: Checkout) -> Staff:
    """The people who may complete and refund this checkout's orders (not viewers)."""
    owners = Membership.objects.filter(
        organization_id=checkout.organization_id, role__in=[OrgRole.OWNER, OrgRole.ADMIN]
    ).values_list("user_id", "user__email")
    members = CheckoutMembership.objects.filter(
        checkout=checkout,
        role__in=[CheckoutRole.ADMIN, CheckoutRole.MAINTAINER, CheckoutRole.CUSTOMER_SERVICE],
    ).values_list("user_id", "user__email")
    return sorted({*owners, *members})


class Pricing:
    """Quotes from `orders.pricing`, each distinct combination computed once."""

    def __init__(self) -> None:
        self.quotes: dict[tuple[int, str, tuple[int, ...], int | None], Quote] = {}
        self.code_fits: dict[tuple[int, str, int], bool] = {}

    def quote(
        self, offer: Offer, currency: str, add_ons: list[AddOn], code: DiscountCode | None
    ) -> Quote:
        key = (offer.pk, currency, tuple(a.pk for a in add_ons), code.pk if code else None)
        quote = self.quotes.get(key)
        if quote is None:
            quote = quote_offer(offer, currency, add_ons=add_ons, discount_code=code)
            self.quotes[key] = quote
        return quote

    def fits(self, offer: Offer, currency: str, code: DiscountCode) -> bool:
        """Whether the code takes something off this offer (it may be restricted to products)."""
        key = (offer.pk, currency, code.pk)
        if key not in self.code_fits:
            try:
                quote = self.quote(offer, currency, [], code)
                # A code that makes the order free would leave nothing to pay or refund.
                fits = quote.discount_minor > 0 and quote.total_minor > 0
            except PricingError:
                fits = False
            self.code_fits[key] = fits
        return self.code_fits[key]


def currency_for(customer: people.Customer, offer: Offer) -> str:
    """The customer's own currency when the offer has it, else euros, else the offer's first."""
    currency = customer.country.currency
    if offer.currencies and currency not in offer.currencies:
        return "EUR" if "EUR" in offer.currencies else offer.currencies[0]
    return currency


def draw_add_ons(
    rng: random.Random, plan: CheckoutPlan, offer: Offer, currency: str
) -> list[AddOn]:
    chosen = []
    for add_on in plan.add_ons.get(offer.pk, ()):
        if add_on.effect == AddOnEffect.UPGRADE:
            chance = 0.10
        elif add_on.kind == AddOnKind.ORDER_BUMP:
            chance = 0.30
        else:
            chance = 0.15
        if rng.random() < chance and currency in plan.add_on_currencies[add_on.pk]:
            chosen.append(add_on)
    return chosen


def draw_code(
    rng: random.Random,
    plan: CheckoutPlan,
    pricing: Pricing,
    offer: Offer,
    currency: str,
    created: dt.datetime,
) -> DiscountCode | None:
    """A discount code for about one order in eight, when it is valid then and takes something off."""
    if not (plan.codes and rng.random() < 0.12):
        return None
    code = plan.codes[rng.randrange(len(plan.codes))]
    in_dates = (code.valid_from is None or created >= code.valid_from) and (
        code.valid_until is None or created <= code.valid_until
    )
    return code if in_dates and pricing.fits(offer, currency, code) else None


def draw_outcome(rng: random.Random) -> str:
    """The status the order is meant to end in; what happens to it later may still change it."""
    r = rng.random()
    if r < 0.16:
        return S.STARTED
    if r < 0.23:
        return S.IN_PROGRESS
    if r < 0.245:
        return S.PROCESSING
    r = rng.random()
    if r < 0.04:
        return S.REFUNDED
    if r < 0.065:
        return S.PARTIALLY_REFUNDED
    if r < 0.10:
        return S.MARKED_COMPLETED
    if r < 0.1025:
        return S.PAID
    return S.COMPLETED


def line_rows(rng: random.Random, writer: BulkWriter, order_id: int, quote: Quote) -> list[Row]:
    """The order's lines as the quote priced them, nothing refunded yet."""
    rows: list[Row] = []
    for position, line in enumerate(quote.lines):
        line_id = writer.new_id(OrderLine)
        item = line.input
        rows.append(
            [
                line_id, order_id, item.kind, item.product_id, item.add_on_id, item.name,
                position, item.unit_price_minor, item.quantity,
                item.list_price_minor or item.unit_price_minor, line.discount_minor,
                item.vat_rate, line.vat_minor, line.total_minor, 0,
                uuid.UUID(int=(rng.getrandbits(80) << 48) | line_id).hex,
            ]
        )  # fmt: skip
    return rows


def draw_details(rng: random.Random, customer: people.Customer) -> tuple[Any, ...]:
    """The customer columns of an order whose billing details were saved."""
    extra = (
        json.dumps({"How did you hear about us?": rng.choice(HEARD_ABOUT)})
        if rng.random() < 0.3
        else "{}"
    )
    consent_roll = rng.random()
    consent = True if consent_roll < 0.62 else (False if consent_roll < 0.92 else None)
    street = f"{rng.choice(STREETS)} Street {rng.randint(1, 120)}"
    return (
        customer.email, customer.first_name, customer.last_name, customer.phone, street,
        customer.postal_code, customer.city, customer.region, customer.country.code, extra,
        consent,
    )  # fmt: skip
