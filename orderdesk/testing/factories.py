"""Factories shared by every app's tests: a small merchant world and orders in any state.

`world()` builds the personas of the test suite: Alice owns the organization, Bob is a viewer
on its checkout, Sam is customer service, and Charlie belongs to another organization.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import (
    ActionConfig,
    ActionKind,
    ActionLevel,
    AddOn,
    AddOnEffect,
    AddOnKind,
    CheckoutLink,
    DiscountCode,
    DiscountKind,
    Offer,
    OfferItem,
    Product,
    ProductPrice,
)
from orderdesk.orders.models import ActionHealth, Order, OrderStatus, OrderTag
from orderdesk.orders.numbers import next_number
from orderdesk.orders.pricing import offer_lines, price_lines
from orderdesk.orders.services import write_lines
from orderdesk.organizations.models import (
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Membership,
    Organization,
    OrgRole,
    User,
)
from orderdesk.payments.models import PaymentAttempt, PaymentStatus

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def user(email: str | None = None) -> User:
    return User.objects.create_user(email or f"user{next(_seq)}@example.com", PASSWORD)


def organization(name: str = "Acme Courses") -> Organization:
    n = next(_seq)
    return Organization.objects.create(name=name, slug=f"org-{n}")


def checkout(org: Organization, name: str = "Main checkout") -> tuple[Checkout, str]:
    """A checkout and its raw ingest key."""
    c = Checkout(organization=org, name=name, slug=f"checkout-{next(_seq)}")
    key = c.rotate_ingest_key()
    c.save()
    return c, key


def product(c: Checkout, name: str, prices: dict[str, int], vat_rate: str = "25.5") -> Product:
    p = Product.objects.create(checkout=c, name=name, vat_rate=Decimal(vat_rate))
    for currency, amount in prices.items():
        ProductPrice.objects.create(product=p, currency=currency, amount_minor=amount)
    return p


@dataclass
class World:
    org: Organization
    checkout: Checkout
    ingest_key: str
    course: Product
    workbook: Product
    coaching: Product
    vip_course: Product
    offer: Offer
    course_item: OfferItem
    bump: AddOn
    upsell: AddOn
    upgrade: AddOn
    link: CheckoutLink
    alice: User  # owner
    bob: User  # viewer on the checkout
    sam: User  # customer service on the checkout
    charlie: User  # owner of another organization
    other_checkout: Checkout
    other_ingest_key: str


def world() -> World:
    org = organization()
    c, key = checkout(org)
    course = product(c, "Photography Masterclass", {"EUR": 9900, "SEK": 109900, "USD": 10900})
    workbook = product(c, "Workbook PDF", {"EUR": 1900, "SEK": 19900, "USD": 2100}, vat_rate="14")
    coaching = product(c, "1:1 Coaching Call", {"EUR": 14900, "SEK": 159900, "USD": 15900})
    vip = product(c, "Masterclass VIP", {"EUR": 19900, "SEK": 219900, "USD": 21900})
    offer = Offer.objects.create(
        checkout=c, name="Masterclass launch", currencies=["EUR", "SEK", "USD"]
    )
    course_item = OfferItem.objects.create(
        offer=offer, product=course, price_overrides={"EUR": 7900}
    )
    bump = AddOn.objects.create(
        offer=offer, kind=AddOnKind.ORDER_BUMP, product=workbook, price_overrides={"EUR": 900}
    )
    upsell = AddOn.objects.create(
        offer=offer, kind=AddOnKind.PRE_UPSELL, product=coaching, position=1
    )
    upgrade = AddOn.objects.create(
        offer=offer,
        kind=AddOnKind.PRE_UPSELL,
        effect=AddOnEffect.UPGRADE,
        product=vip,
        upgrades=course_item,
        position=2,
    )
    link = CheckoutLink.objects.create(
        checkout=c,
        offer=offer,
        name="Black Friday Meta",
        slug="bf-meta",
        source="Meta",
        tags=["black-friday", "ads"],
    )
    alice, bob, sam, charlie = (
        user("alice@example.com"),
        user("bob@example.com"),
        user("sam@example.com"),
        user("charlie@example.com"),
    )
    Membership.objects.create(organization=org, user=alice, role=OrgRole.OWNER)
    Membership.objects.create(organization=org, user=bob, role=OrgRole.MEMBER)
    Membership.objects.create(organization=org, user=sam, role=OrgRole.MEMBER)
    CheckoutMembership.objects.create(checkout=c, user=bob, role=CheckoutRole.VIEWER)
    CheckoutMembership.objects.create(checkout=c, user=sam, role=CheckoutRole.CUSTOMER_SERVICE)
    other_org = organization("Other Merchant")
    other_checkout, other_key = checkout(other_org, "Other checkout")
    Membership.objects.create(organization=other_org, user=charlie, role=OrgRole.OWNER)
    return World(
        org=org,
        checkout=c,
        ingest_key=key,
        course=course,
        workbook=workbook,
        coaching=coaching,
        vip_course=vip,
        offer=offer,
        course_item=course_item,
        bump=bump,
        upsell=upsell,
        upgrade=upgrade,
        link=link,
        alice=alice,
        bob=bob,
        sam=sam,
        charlie=charlie,
        other_checkout=other_checkout,
        other_ingest_key=other_key,
    )


def kajabi_action(
    c: Checkout, *, level: str = ActionLevel.OFFER, url: str, **target: Any
) -> ActionConfig:
    return ActionConfig.objects.create(
        checkout=c,
        level=level,
        kind=ActionKind.KAJABI_GRANT,
        name="Grant Kajabi offer",
        settings={"activation_url": url, "deactivation_url": url.replace("activate", "deactivate")},
        **target,
    )


def failed_kajabi_action(w: World, order: Order) -> ActionSnapshot:
    """Give `order` an offer-level Kajabi grant that failed for good (health: failed),
    snapshotted from a live configuration."""
    config = kajabi_action(w.checkout, url="http://kajabi.invalid/offers/a/activate", offer=w.offer)
    order.action_health = ActionHealth.FAILED
    order.save(update_fields=["action_health"])
    return ActionSnapshot.objects.create(
        order=order,
        config=config,
        level=ActionLevel.OFFER,
        kind=ActionKind.KAJABI_GRANT,
        name="Grant Kajabi offer",
        settings=config.settings,
        status=SnapshotStatus.FAILED,
        attempts=1,
        last_error="Kajabi answered 422: Email: is invalid",
    )


def order(
    w: World,
    *,
    status: OrderStatus = OrderStatus.PAID,
    currency: str = "EUR",
    add_ons: tuple[AddOn, ...] = (),
    email: str = "customer@example.com",
    provider: str = "stripe",
    method: str = "card",
    created_at: Any = None,
    **fields: Any,
) -> Order:
    """An order written directly in the given status (bypassing transitions, for test setup)."""
    created_at = created_at or timezone.now()
    quote = price_lines(currency, offer_lines(w.offer, currency, add_ons))
    paid = status not in (OrderStatus.STARTED, OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING)
    o = Order.objects.create(
        organization=w.org,
        checkout=w.checkout,
        number=next_number(w.org.pk),
        link=w.link,
        offer=w.offer,
        status=status,
        action_health=fields.pop("action_health", ActionHealth.NONE),
        currency=currency,
        subtotal_minor=quote.subtotal_minor,
        discount_minor=quote.discount_minor,
        vat_minor=quote.vat_minor,
        total_minor=quote.total_minor,
        customer_email=email,
        first_name=fields.pop("first_name", "Maija"),
        last_name=fields.pop("last_name", "Meikäläinen"),
        country=fields.pop("country", "FI"),
        source=w.link.source,
        tags=list(w.link.tags),
        created_at=created_at,
        paid_at=created_at if paid else None,
        **fields,
    )
    write_lines(o, quote, stamp_lines=True)
    for tag in o.tags:
        OrderTag.objects.create(order=o, checkout=w.checkout, tag=tag, created_at=created_at)
    if status != OrderStatus.STARTED and status != OrderStatus.IN_PROGRESS:
        PaymentAttempt.objects.create(
            order=o,
            provider=provider,
            method=method,
            status=PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING,
            amount_minor=o.total_minor,
            currency=currency,
            stamp=uuid.uuid4().hex,
            provider_reference=f"{provider}_{uuid.uuid4().hex[:16]}",
            created_at=created_at,
            succeeded_at=created_at if paid else None,
        )
    return o


def discount_code(c: Checkout, code: str = "SAVE10", **fields: Any) -> DiscountCode:
    """A percentage code (10 % unless `percent` says otherwise) or, with `fixed_amounts`, fixed."""
    products = fields.pop("products", ())
    if "fixed_amounts" in fields:
        fields.setdefault("kind", DiscountKind.FIXED)
    else:
        fields.setdefault("kind", DiscountKind.PERCENTAGE)
        fields.setdefault("percent", Decimal(10))
    d = DiscountCode.objects.create(checkout=c, code=code, **fields)
    d.products.set(products)
    return d
