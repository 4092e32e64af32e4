"""The demo merchant: an organization with two checkouts, their catalog and four staff logins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

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
    ProductType,
)
from orderdesk.organizations.models import (
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Membership,
    Organization,
    OrgRole,
    User,
    hash_secret,
)
from orderdesk.payments.models import Provider, ProviderAccount
from orderdesk.sandboxes.accounts import install_sandbox_accounts
from orderdesk.sandboxes.apps import sandboxes_installed

ORGANIZATION_SLUG = "demo"
PASSWORD = "demo"
# (email, org role, checkout role or None for org owners/admins, description)
LOGINS = (
    ("owner@demo.example", OrgRole.OWNER, None, "owner"),
    ("admin@demo.example", OrgRole.ADMIN, None, "admin"),
    ("support@demo.example", OrgRole.MEMBER, CheckoutRole.CUSTOMER_SERVICE, "customer service"),
    ("viewer@demo.example", OrgRole.MEMBER, CheckoutRole.VIEWER, "viewer"),
)
# The platform operator: the one demo login of the Django admin, which spans every organization.
# No merchant login is an operator.
OPERATOR_LOGIN = "operator@demo.example"
# The checkout pages' ingest keys are fixed in the demo so the ingest API can be tried by hand.
INGEST_KEYS = {"photography": "ck_demo_photography", "yoga": "ck_demo_yoga"}


def demo_organization() -> Organization | None:
    return Organization.objects.filter(slug=ORGANIZATION_SLUG).first()


def ensure_demo_catalog(*, site_url: str) -> Organization:
    """The demo organization, created with its catalog and logins on first use."""
    existing = demo_organization()
    with transaction.atomic():
        org = existing or _create(site_url.rstrip("/"))
        ensure_demo_operator()
    return org


def ensure_demo_operator() -> None:
    """The operator login, and no admin rights for the merchant's logins: a demo made before
    the admin was for operators only had its owner as a superuser."""
    User.objects.filter(memberships__organization__slug=ORGANIZATION_SLUG).update(
        is_staff=False, is_superuser=False, is_platform_operator=False
    )
    if not User.objects.filter(email=OPERATOR_LOGIN).exists():
        User.objects.create_superuser(OPERATOR_LOGIN, PASSWORD)


def _create(site_url: str) -> Organization:
    org = Organization.objects.create(
        name="Northern Lights Academy", slug=ORGANIZATION_SLUG, time_zone="Europe/Helsinki"
    )
    checkouts = [_checkout(org, spec.name, spec.slug) for spec in CHECKOUTS]
    for email, org_role, checkout_role, _ in LOGINS:
        user = User.objects.create_user(email, PASSWORD)
        Membership.objects.create(organization=org, user=user, role=org_role)
        if checkout_role is not None:
            for checkout in checkouts:
                CheckoutMembership.objects.create(checkout=checkout, user=user, role=checkout_role)
    for checkout in checkouts:
        _provider_accounts(checkout)
    for checkout, spec in zip(checkouts, CHECKOUTS, strict=True):
        _build_catalog(checkout, spec, site_url)
    return org


def _provider_accounts(checkout: Checkout) -> None:
    # Without the sandboxes (generate_orders on a production-configured database) there is
    # no provider to point the accounts at: the generated payments are only rows there.
    if sandboxes_installed():
        install_sandbox_accounts(checkout)
    ProviderAccount.objects.create(
        checkout=checkout, provider=Provider.MANUAL, methods=["invoice", "bank_transfer"]
    )


def _checkout(org: Organization, name: str, slug: str) -> Checkout:
    key = INGEST_KEYS[slug]
    return Checkout.objects.create(
        organization=org,
        name=name,
        slug=slug,
        ingest_key_hash=hash_secret(key),
        ingest_key_prefix=key[:10],
    )


# -- the catalog, as data ----------------------------------------------------------------
# Rows are created in the order written here (products, then each offer with its items and
# add-ons, then links, codes and actions), so their ids, which the order generator walks,
# stay the same from run to run.


@dataclass(frozen=True)
class ProductSpec:
    name: str
    type: ProductType
    vat: str
    prices: dict[str, int]


@dataclass(frozen=True)
class AddOnSpec:
    kind: AddOnKind
    product: str  # key in CheckoutSpec.products
    title: str = ""
    prices: dict[str, int] = field(default_factory=dict)  # overrides of the product's prices
    upgrades: str = ""  # for an upgrade: the key of the offer's product it replaces


@dataclass(frozen=True)
class OfferSpec:
    name: str
    currencies: list[str]
    # (product key, price overrides); positions follow this order.
    items: list[tuple[str, dict[str, int]]]
    add_ons: list[AddOnSpec] = field(default_factory=list)
    # (name, slug, source, tags)
    links: list[tuple[str, str, str, list[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class CodeSpec:
    code: str
    percent: int | None = None  # a percentage code, else fixed amounts
    fixed: dict[str, int] = field(default_factory=dict)
    products: tuple[str, ...] = ()  # restricted to these product keys
    black_friday: bool = False  # valid only around last year's Black Friday
    options: dict[str, Any] = field(default_factory=dict)  # other DiscountCode fields


@dataclass(frozen=True)
class ActionSpec:
    kind: ActionKind
    name: str
    # "{site}" in a string value stands for the demo's URL.
    settings: dict[str, Any]
    offer: str = ""  # offer-level: the offer's name
    product: str = ""  # product-level: the product's key


@dataclass(frozen=True)
class CheckoutSpec:
    name: str
    slug: str
    products: dict[str, ProductSpec]
    offers: list[OfferSpec]
    codes: list[CodeSpec]
    actions: list[ActionSpec]


def kajabi(offer_key: str, *, offer: str = "", product: str = "") -> ActionSpec:
    base = f"{{site}}/sandbox/kajabi/offers/{offer_key}"
    return ActionSpec(
        ActionKind.KAJABI_GRANT,
        "Grant Kajabi offer",
        {
            "activation_url": f"{base}/activate",
            "deactivation_url": f"{base}/deactivate",
            "send_offer_grant_email": True,
            "hide_last_name": False,
        },
        offer=offer,
        product=product,
    )


def receipt(subject: str) -> ActionSpec:
    return ActionSpec(ActionKind.SEND_RECEIPT, "Send receipt email", {"subject": subject})


T = ProductType
PHOTOGRAPHY = CheckoutSpec(
    name="Photography School",
    slug="photography",
    products={
        "masterclass": ProductSpec("Photography Masterclass", T.ONLINE_COURSE, "25.5", {"EUR": 19900, "SEK": 229900, "USD": 21900}),
        "presets": ProductSpec("Lightroom Presets Pack", T.DIGITAL_CONTENT, "25.5", {"EUR": 2900, "SEK": 32900, "USD": 3200}),
        "handbook": ProductSpec("Composition Handbook (e-book)", T.EBOOK, "10", {"EUR": 1900, "SEK": 21900, "USD": 2100}),
        "vip": ProductSpec("Masterclass VIP", T.ONLINE_COURSE, "25.5", {"EUR": 34900, "SEK": 399900, "USD": 37900}),
        "review": ProductSpec("1:1 Portfolio Review", T.SERVICE, "25.5", {"EUR": 14900, "SEK": 169900, "USD": 15900}),
        "walk": ProductSpec("Photo Walk Helsinki (lunch included)", T.EVENT_TICKET, "14", {"EUR": 8900}),
        "community": ProductSpec("Photographers' Community Membership", T.MEMBERSHIP, "0", {"EUR": 4900, "SEK": 54900}),
    },
    offers=[
        OfferSpec(
            "Masterclass Launch",
            ["EUR", "SEK", "USD"],
            items=[("masterclass", {"EUR": 14900, "SEK": 169900, "USD": 15900})],
            add_ons=[
                AddOnSpec(AddOnKind.ORDER_BUMP, "presets", "Add the Lightroom presets for €19", {"EUR": 1900, "SEK": 21900, "USD": 2100}),
                AddOnSpec(AddOnKind.PRE_UPSELL, "review", "Get feedback 1:1"),
                AddOnSpec(AddOnKind.PRE_UPSELL, "vip", "Upgrade to VIP", upgrades="masterclass"),
            ],
            links=[
                ("Masterclass – Meta ads", "masterclass-meta", "Meta", ["launch", "paid-social"]),
                ("Masterclass – Google search", "masterclass-google", "Google", ["launch", "search"]),
                ("Masterclass – Newsletter", "masterclass-email", "Email", ["newsletter"]),
                ("Masterclass – Black Friday", "masterclass-bf", "Meta", ["black-friday", "paid-social"]),
                ("Masterclass – Instagram bio", "masterclass-ig", "Instagram", ["organic"]),
                ("Masterclass – TikTok creators", "masterclass-tiktok", "TikTok", ["influencer"]),
            ],
        ),
        OfferSpec(
            "Presets + Handbook Bundle",
            ["EUR", "SEK"],
            items=[("presets", {}), ("handbook", {})],
            add_ons=[AddOnSpec(AddOnKind.ORDER_BUMP, "community")],
            links=[
                ("Bundle – Email", "bundle-email", "Email", ["newsletter", "evergreen"]),
                ("Bundle – Direct", "bundle", "Direct", []),
            ],
        ),
        OfferSpec(
            "Photo Walk Ticket",
            ["EUR"],
            items=[("walk", {})],
            links=[("Photo walk – Instagram", "photo-walk", "Instagram", ["event"])],
        ),
    ],
    codes=[
        CodeSpec("WELCOME10", percent=10),
        CodeSpec("BLACKFRIDAY30", percent=30, black_friday=True),
        CodeSpec("SAVE20", fixed={"EUR": 2000, "SEK": 22000, "USD": 2200}),
        CodeSpec("PRESETS50", percent=50, products=("presets",)),
        CodeSpec(
            "VIPFRIEND",
            fixed={"EUR": 5000},
            options={"exclude_discounted": True, "usage_limit": 500, "per_email_limit": 1},
        ),
        CodeSpec("SUMMER15", percent=15, options={"is_active": False}),
    ],
    actions=[
        receipt("Your receipt from Northern Lights Academy"),
        ActionSpec(
            ActionKind.WEBHOOK,
            "Notify CRM",
            {"url": "{site}/sandbox/webhooks/crm/", "secret": "whsec_demo_crm"},
        ),
        kajabi("masterclass", offer="Masterclass Launch"),
        kajabi("masterclass-vip", product="vip"),
        ActionSpec(
            ActionKind.CUSTOM_EMAIL,
            "Send photo walk ticket",
            {
                "subject": "Your Photo Walk Helsinki ticket",
                "body": "Hi $first_name, see you at the Helsinki Cathedral steps at 10:00.\n"
                "Your order: #$order_number.",
            },
            product="walk",
        ),
    ],
)  # fmt: skip

YOGA = CheckoutSpec(
    name="Yoga Studio",
    slug="yoga",
    products={
        "journey": ProductSpec("30-Day Yoga Journey", T.ONLINE_COURSE, "25.5", {"EUR": 9900, "SEK": 109900, "USD": 10900}),
        "nidra": ProductSpec("Yoga Nidra Audio Library", T.DIGITAL_CONTENT, "25.5", {"EUR": 3900, "SEK": 42900, "USD": 4200}),
        "ebook": ProductSpec("Mindful Living (e-book)", T.EBOOK, "10", {"EUR": 1500, "SEK": 16900, "USD": 1600}),
        "coaching": ProductSpec("Breathwork Coaching Session", T.SERVICE, "25.5", {"EUR": 7900, "SEK": 89900, "USD": 8500}),
        "retreat": ProductSpec("Lapland Retreat Deposit", T.EVENT_TICKET, "10", {"EUR": 25000}),
    },
    offers=[
        OfferSpec(
            "Yoga Journey",
            ["EUR", "SEK", "USD"],
            items=[("journey", {})],
            add_ons=[
                AddOnSpec(AddOnKind.ORDER_BUMP, "nidra"),
                AddOnSpec(AddOnKind.ORDER_BUMP, "ebook"),
                AddOnSpec(AddOnKind.PRE_UPSELL, "coaching"),
            ],
            links=[
                ("Journey – Instagram", "journey-ig", "Instagram", ["organic", "spring-sale"]),
                ("Journey – TikTok", "journey-tiktok", "TikTok", ["influencer"]),
                ("Journey – Google", "journey-google", "Google", ["search"]),
                ("Journey – Direct", "journey", "Direct", []),
            ],
        ),
        OfferSpec(
            "Mindful Starter",
            ["EUR", "SEK"],
            items=[("ebook", {}), ("nidra", {"EUR": 2900, "SEK": 32900})],
            links=[("Starter – Email", "starter-email", "Email", ["newsletter"])],
        ),
        OfferSpec(
            "Lapland Retreat",
            ["EUR"],
            items=[("retreat", {})],
            links=[("Retreat – Meta", "retreat-meta", "Meta", ["retreat", "paid-social"])],
        ),
    ],
    codes=[
        CodeSpec("NAMASTE15", percent=15),
        CodeSpec("YOGA10", fixed={"EUR": 1000, "SEK": 11000, "USD": 1100}),
    ],
    actions=[
        receipt("Your receipt from Northern Lights Yoga"),
        kajabi("yoga-journey", offer="Yoga Journey"),
        ActionSpec(
            ActionKind.WEBHOOK,
            "Book coaching session",
            {"url": "{site}/sandbox/webhooks/booking/", "secret": "whsec_demo_booking"},
            product="coaching",
        ),
    ],
)  # fmt: skip

CHECKOUTS = (PHOTOGRAPHY, YOGA)


def _build_catalog(c: Checkout, spec: CheckoutSpec, site_url: str) -> None:
    products = {key: _product(c, p) for key, p in spec.products.items()}
    offers: dict[str, Offer] = {}
    for offer_spec in spec.offers:
        offers[offer_spec.name] = _offer(c, offer_spec, products)
    for offer_spec in spec.offers:
        for name, slug, source, tags in offer_spec.links:
            CheckoutLink.objects.create(
                checkout=c,
                offer=offers[offer_spec.name],
                name=name,
                slug=slug,
                source=source,
                tags=tags,
            )
    bf_start, bf_end = _last_black_friday(timezone.now())
    for code in spec.codes:
        if code.percent is not None:
            amount: dict[str, Any] = {
                "kind": DiscountKind.PERCENTAGE,
                "percent": Decimal(code.percent),
            }
        else:
            amount = {"kind": DiscountKind.FIXED, "fixed_amounts": code.fixed}
        if code.black_friday:
            amount |= {"valid_from": bf_start, "valid_until": bf_end}
        created = DiscountCode.objects.create(checkout=c, code=code.code, **amount, **code.options)
        if code.products:
            created.products.add(*(products[key] for key in code.products))
    for action in spec.actions:
        if action.product:
            target: dict[str, Any] = {
                "level": ActionLevel.PRODUCT,
                "product": products[action.product],
            }
        elif action.offer:
            target = {"level": ActionLevel.OFFER, "offer": offers[action.offer]}
        else:
            target = {"level": ActionLevel.CHECKOUT}
        ActionConfig.objects.create(
            checkout=c,
            kind=action.kind,
            name=action.name,
            settings=_with_site(action.settings, site_url),
            **target,
        )


def _product(checkout: Checkout, spec: ProductSpec) -> Product:
    product = Product.objects.create(
        checkout=checkout, name=spec.name, type=spec.type, vat_rate=Decimal(spec.vat)
    )
    ProductPrice.objects.bulk_create(
        ProductPrice(product=product, currency=currency, amount_minor=amount)
        for currency, amount in spec.prices.items()
    )
    return product


def _offer(checkout: Checkout, spec: OfferSpec, products: dict[str, Product]) -> Offer:
    offer = Offer.objects.create(checkout=checkout, name=spec.name, currencies=spec.currencies)
    items = {
        key: OfferItem.objects.create(
            offer=offer, product=products[key], position=position, price_overrides=prices
        )
        for position, (key, prices) in enumerate(spec.items)
    }
    for position, add_on in enumerate(spec.add_ons):
        AddOn.objects.create(
            offer=offer,
            kind=add_on.kind,
            effect=AddOnEffect.UPGRADE if add_on.upgrades else AddOnEffect.ADD,
            product=products[add_on.product],
            upgrades=items[add_on.upgrades] if add_on.upgrades else None,
            title=add_on.title,
            price_overrides=add_on.prices,
            position=position,
        )
    return offer


def _with_site(settings: dict[str, Any], site_url: str) -> dict[str, Any]:
    return {
        key: value.replace("{site}", site_url) if isinstance(value, str) else value
        for key, value in settings.items()
    }


def _last_black_friday(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    year = now.year if now.month == 12 else now.year - 1
    start = dt.datetime(year, 11, 20, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=12)
