"""The demo merchant: an organization with two checkouts, their catalog and four staff logins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
from orderdesk.payments.sandbox.accounts import install_sandbox_accounts

ORGANIZATION_SLUG = "demo"
PASSWORD = "demo"
# (email, org role, checkout role or None for org owners/admins, description)
LOGINS = (
    ("owner@demo.example", OrgRole.OWNER, None, "owner"),
    ("admin@demo.example", OrgRole.ADMIN, None, "admin"),
    ("support@demo.example", OrgRole.MEMBER, CheckoutRole.CUSTOMER_SERVICE, "customer service"),
    ("viewer@demo.example", OrgRole.MEMBER, CheckoutRole.VIEWER, "viewer"),
)
# The checkout pages' ingest keys are fixed in the demo so the ingest API can be tried by hand.
INGEST_KEYS = {"photography": "ck_demo_photography", "yoga": "ck_demo_yoga"}


def demo_organization() -> Organization | None:
    return Organization.objects.filter(slug=ORGANIZATION_SLUG).first()


def ensure_demo_catalog(*, site_url: str) -> Organization:
    """The demo organization, created with its catalog and logins on first use."""
    existing = demo_organization()
    if existing is not None:
        return existing
    with transaction.atomic():
        return _create(site_url.rstrip("/"))


def _create(site_url: str) -> Organization:
    org = Organization.objects.create(
        name="Northern Lights Academy", slug=ORGANIZATION_SLUG, time_zone="Europe/Helsinki"
    )
    photography = _checkout(org, "Photography School", "photography")
    yoga = _checkout(org, "Yoga Studio", "yoga")
    for email, org_role, checkout_role, _ in LOGINS:
        user = User.objects.create_user(email, PASSWORD, is_staff=org_role == OrgRole.OWNER)
        if org_role == OrgRole.OWNER:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        Membership.objects.create(organization=org, user=user, role=org_role)
        if checkout_role is not None:
            for checkout in (photography, yoga):
                CheckoutMembership.objects.create(checkout=checkout, user=user, role=checkout_role)
    for checkout in (photography, yoga):
        _provider_accounts(checkout)
    _photography_catalog(photography, site_url)
    _yoga_catalog(yoga, site_url)
    return org


def _provider_accounts(checkout: Checkout) -> None:
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


def _product(
    checkout: Checkout, name: str, type: ProductType, vat: str, prices: dict[str, int]
) -> Product:
    product = Product.objects.create(checkout=checkout, name=name, type=type, vat_rate=Decimal(vat))
    ProductPrice.objects.bulk_create(
        ProductPrice(product=product, currency=currency, amount_minor=amount)
        for currency, amount in prices.items()
    )
    return product


def _kajabi(checkout: Checkout, site_url: str, offer_key: str, **target: object) -> ActionConfig:
    base = f"{site_url}/sandbox/kajabi/offers/{offer_key}"
    return ActionConfig.objects.create(
        checkout=checkout,
        kind=ActionKind.KAJABI_GRANT,
        name="Grant Kajabi offer",
        settings={
            "activation_url": f"{base}/activate",
            "deactivation_url": f"{base}/deactivate",
            "send_offer_grant_email": True,
            "hide_last_name": False,
        },
        **target,
    )


def _links(checkout: Checkout, offer: Offer, links: list[tuple[str, str, str, list[str]]]) -> None:
    for name, slug, source, tags in links:
        CheckoutLink.objects.create(
            checkout=checkout, offer=offer, name=name, slug=slug, source=source, tags=tags
        )


def _last_black_friday(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    year = now.year if now.month == 12 else now.year - 1
    start = dt.datetime(year, 11, 20, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=12)


def _photography_catalog(c: Checkout, site_url: str) -> None:
    T = ProductType
    masterclass = _product(
        c,
        "Photography Masterclass",
        T.ONLINE_COURSE,
        "25.5",
        {"EUR": 19900, "SEK": 229900, "USD": 21900},
    )
    presets = _product(
        c,
        "Lightroom Presets Pack",
        T.DIGITAL_CONTENT,
        "25.5",
        {"EUR": 2900, "SEK": 32900, "USD": 3200},
    )
    handbook = _product(
        c, "Composition Handbook (e-book)", T.EBOOK, "10", {"EUR": 1900, "SEK": 21900, "USD": 2100}
    )
    vip = _product(
        c, "Masterclass VIP", T.ONLINE_COURSE, "25.5", {"EUR": 34900, "SEK": 399900, "USD": 37900}
    )
    review = _product(
        c, "1:1 Portfolio Review", T.SERVICE, "25.5", {"EUR": 14900, "SEK": 169900, "USD": 15900}
    )
    walk = _product(c, "Photo Walk Helsinki (lunch included)", T.EVENT_TICKET, "14", {"EUR": 8900})
    community = _product(
        c, "Photographers' Community Membership", T.MEMBERSHIP, "0", {"EUR": 4900, "SEK": 54900}
    )

    launch = Offer.objects.create(
        checkout=c, name="Masterclass Launch", currencies=["EUR", "SEK", "USD"]
    )
    launch_item = OfferItem.objects.create(
        offer=launch,
        product=masterclass,
        price_overrides={"EUR": 14900, "SEK": 169900, "USD": 15900},
    )
    AddOn.objects.create(
        offer=launch,
        kind=AddOnKind.ORDER_BUMP,
        product=presets,
        title="Add the Lightroom presets for €19",
        price_overrides={"EUR": 1900, "SEK": 21900, "USD": 2100},
    )
    AddOn.objects.create(
        offer=launch,
        kind=AddOnKind.PRE_UPSELL,
        product=review,
        title="Get feedback 1:1",
        position=1,
    )
    AddOn.objects.create(
        offer=launch,
        kind=AddOnKind.PRE_UPSELL,
        effect=AddOnEffect.UPGRADE,
        product=vip,
        upgrades=launch_item,
        title="Upgrade to VIP",
        position=2,
    )
    bundle = Offer.objects.create(
        checkout=c, name="Presets + Handbook Bundle", currencies=["EUR", "SEK"]
    )
    OfferItem.objects.create(offer=bundle, product=presets)
    OfferItem.objects.create(offer=bundle, product=handbook, position=1)
    AddOn.objects.create(offer=bundle, kind=AddOnKind.ORDER_BUMP, product=community)
    walk_offer = Offer.objects.create(checkout=c, name="Photo Walk Ticket", currencies=["EUR"])
    OfferItem.objects.create(offer=walk_offer, product=walk)

    _links(
        c,
        launch,
        [
            ("Masterclass – Meta ads", "masterclass-meta", "Meta", ["launch", "paid-social"]),
            ("Masterclass – Google search", "masterclass-google", "Google", ["launch", "search"]),
            ("Masterclass – Newsletter", "masterclass-email", "Email", ["newsletter"]),
            (
                "Masterclass – Black Friday",
                "masterclass-bf",
                "Meta",
                ["black-friday", "paid-social"],
            ),
            ("Masterclass – Instagram bio", "masterclass-ig", "Instagram", ["organic"]),
            ("Masterclass – TikTok creators", "masterclass-tiktok", "TikTok", ["influencer"]),
        ],
    )
    _links(
        c,
        bundle,
        [
            ("Bundle – Email", "bundle-email", "Email", ["newsletter", "evergreen"]),
            ("Bundle – Direct", "bundle", "Direct", []),
        ],
    )
    _links(c, walk_offer, [("Photo walk – Instagram", "photo-walk", "Instagram", ["event"])])

    now = timezone.now()
    bf_start, bf_end = _last_black_friday(now)
    DiscountCode.objects.create(
        checkout=c, code="WELCOME10", kind=DiscountKind.PERCENTAGE, percent=Decimal(10)
    )
    DiscountCode.objects.create(
        checkout=c,
        code="BLACKFRIDAY30",
        kind=DiscountKind.PERCENTAGE,
        percent=Decimal(30),
        valid_from=bf_start,
        valid_until=bf_end,
    )
    DiscountCode.objects.create(
        checkout=c,
        code="SAVE20",
        kind=DiscountKind.FIXED,
        fixed_amounts={"EUR": 2000, "SEK": 22000, "USD": 2200},
    )
    presets_half = DiscountCode.objects.create(
        checkout=c, code="PRESETS50", kind=DiscountKind.PERCENTAGE, percent=Decimal(50)
    )
    presets_half.products.add(presets)
    DiscountCode.objects.create(
        checkout=c,
        code="VIPFRIEND",
        kind=DiscountKind.FIXED,
        fixed_amounts={"EUR": 5000},
        exclude_discounted=True,
        usage_limit=500,
        per_email_limit=1,
    )
    DiscountCode.objects.create(
        checkout=c,
        code="SUMMER15",
        kind=DiscountKind.PERCENTAGE,
        percent=Decimal(15),
        is_active=False,
    )

    ActionConfig.objects.create(
        checkout=c,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Send receipt email",
        settings={"subject": "Your receipt from Northern Lights Academy"},
    )
    ActionConfig.objects.create(
        checkout=c,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.WEBHOOK,
        name="Notify CRM",
        settings={"url": f"{site_url}/sandbox/webhooks/crm/", "secret": "whsec_demo_crm"},
    )
    _kajabi(c, site_url, "masterclass", level=ActionLevel.OFFER, offer=launch)
    _kajabi(c, site_url, "masterclass-vip", level=ActionLevel.PRODUCT, product=vip)
    ActionConfig.objects.create(
        checkout=c,
        level=ActionLevel.PRODUCT,
        product=walk,
        kind=ActionKind.CUSTOM_EMAIL,
        name="Send photo walk ticket",
        settings={
            "subject": "Your Photo Walk Helsinki ticket",
            "body": "Hi $first_name, see you at the Helsinki Cathedral steps at 10:00.\n"
            "Your order: #$order_number.",
        },
    )


def _yoga_catalog(c: Checkout, site_url: str) -> None:
    T = ProductType
    journey = _product(
        c,
        "30-Day Yoga Journey",
        T.ONLINE_COURSE,
        "25.5",
        {"EUR": 9900, "SEK": 109900, "USD": 10900},
    )
    nidra = _product(
        c,
        "Yoga Nidra Audio Library",
        T.DIGITAL_CONTENT,
        "25.5",
        {"EUR": 3900, "SEK": 42900, "USD": 4200},
    )
    ebook = _product(
        c, "Mindful Living (e-book)", T.EBOOK, "10", {"EUR": 1500, "SEK": 16900, "USD": 1600}
    )
    coaching = _product(
        c,
        "Breathwork Coaching Session",
        T.SERVICE,
        "25.5",
        {"EUR": 7900, "SEK": 89900, "USD": 8500},
    )
    retreat = _product(c, "Lapland Retreat Deposit", T.EVENT_TICKET, "10", {"EUR": 25000})

    journey_offer = Offer.objects.create(
        checkout=c, name="Yoga Journey", currencies=["EUR", "SEK", "USD"]
    )
    OfferItem.objects.create(offer=journey_offer, product=journey)
    AddOn.objects.create(offer=journey_offer, kind=AddOnKind.ORDER_BUMP, product=nidra)
    AddOn.objects.create(offer=journey_offer, kind=AddOnKind.ORDER_BUMP, product=ebook, position=1)
    AddOn.objects.create(
        offer=journey_offer, kind=AddOnKind.PRE_UPSELL, product=coaching, position=2
    )
    starter = Offer.objects.create(checkout=c, name="Mindful Starter", currencies=["EUR", "SEK"])
    OfferItem.objects.create(offer=starter, product=ebook)
    OfferItem.objects.create(
        offer=starter, product=nidra, position=1, price_overrides={"EUR": 2900, "SEK": 32900}
    )
    retreat_offer = Offer.objects.create(checkout=c, name="Lapland Retreat", currencies=["EUR"])
    OfferItem.objects.create(offer=retreat_offer, product=retreat)

    _links(
        c,
        journey_offer,
        [
            ("Journey – Instagram", "journey-ig", "Instagram", ["organic", "spring-sale"]),
            ("Journey – TikTok", "journey-tiktok", "TikTok", ["influencer"]),
            ("Journey – Google", "journey-google", "Google", ["search"]),
            ("Journey – Direct", "journey", "Direct", []),
        ],
    )
    _links(c, starter, [("Starter – Email", "starter-email", "Email", ["newsletter"])])
    _links(
        c, retreat_offer, [("Retreat – Meta", "retreat-meta", "Meta", ["retreat", "paid-social"])]
    )

    DiscountCode.objects.create(
        checkout=c, code="NAMASTE15", kind=DiscountKind.PERCENTAGE, percent=Decimal(15)
    )
    DiscountCode.objects.create(
        checkout=c,
        code="YOGA10",
        kind=DiscountKind.FIXED,
        fixed_amounts={"EUR": 1000, "SEK": 11000, "USD": 1100},
    )

    ActionConfig.objects.create(
        checkout=c,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Send receipt email",
        settings={"subject": "Your receipt from Northern Lights Yoga"},
    )
    _kajabi(c, site_url, "yoga-journey", level=ActionLevel.OFFER, offer=journey_offer)
    ActionConfig.objects.create(
        checkout=c,
        level=ActionLevel.PRODUCT,
        product=coaching,
        kind=ActionKind.WEBHOOK,
        name="Book coaching session",
        settings={"url": f"{site_url}/sandbox/webhooks/booking/", "secret": "whsec_demo_booking"},
    )
