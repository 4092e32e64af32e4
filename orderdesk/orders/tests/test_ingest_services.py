"""Checkout ingest services: opening, billing, add-ons and discount codes (SPEC F9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot
from orderdesk.catalog.models import (
    ActionConfig,
    ActionKind,
    ActionLevel,
    AddOn,
    CheckoutLink,
    Offer,
    OfferItem,
)
from orderdesk.orders import services
from orderdesk.orders.events import EventType
from orderdesk.orders.models import DeviceType, LineKind, Order, OrderStatus, OrderTag
from orderdesk.orders.pricing import PricingError
from orderdesk.orders.services import IngestConflict, IngestError, IngestNotFound
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.workflows import checkout

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def open_order(w: factories.World, **kwargs: str) -> Order:
    return checkout.open_order(w.checkout, link_slug=w.link.slug, **kwargs)


def billed(w: factories.World, email: str = "maija@example.com") -> Order:
    return services.save_billing(open_order(w), email=email, country="FI")


def test_it_opens_a_started_order_with_the_links_source_tags_and_device(
    world: factories.World,
) -> None:
    order = open_order(world, currency="EUR", user_agent=IPHONE)

    order.refresh_from_db()
    assert order.status == OrderStatus.STARTED
    assert order.number == 1
    assert order.source == "Meta"
    assert order.tags == ["black-friday", "ads"]
    assert set(OrderTag.objects.filter(order=order).values_list("tag", flat=True)) == {
        "black-friday",
        "ads",
    }
    # What `queries.tag_index_ids` reads in place of the order's own checkout and time.
    assert set(OrderTag.objects.filter(order=order).values_list("checkout_id", "created_at")) == {
        (order.checkout_id, order.created_at)
    }
    assert order.device_type == DeviceType.MOBILE
    assert order.user_agent == IPHONE
    assert order.link == world.link
    assert order.offer == world.offer
    assert [event.type for event in order.events.all()] == [EventType.OPENED]


def test_it_prices_the_opened_order_from_the_offer(world: factories.World) -> None:
    order = open_order(world, currency="SEK")

    (line,) = order.lines.all()
    assert line.kind == LineKind.MAIN
    assert line.unit_price_minor == 109900  # no SEK override: the product's own price
    assert line.vat_rate == Decimal("25.50")
    assert line.vat_minor == 22330  # 109900 × 25.5 / 125.5 = 22330.28
    assert (order.currency, order.total_minor, order.vat_minor) == ("SEK", 109900, 22330)


def test_it_uses_the_offers_first_currency_when_none_is_asked(world: factories.World) -> None:
    assert open_order(world).currency == "EUR"


def test_it_numbers_orders_per_organization(world: factories.World) -> None:
    other_offer = Offer.objects.create(
        checkout=world.other_checkout, name="Other", currencies=["EUR"]
    )
    OfferItem.objects.create(
        offer=other_offer, product=factories.product(world.other_checkout, "X", {"EUR": 100})
    )
    CheckoutLink.objects.create(
        checkout=world.other_checkout, offer=other_offer, name="L", slug="l"
    )

    first, second = open_order(world), open_order(world)
    other = checkout.open_order(world.other_checkout, link_slug="l")

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert open_order(world).number == 3


def test_it_refuses_an_unknown_or_inactive_link(world: factories.World) -> None:
    world.link.is_active = False
    world.link.save()
    before = database_state()

    for slug in ("no-such-link", world.link.slug):
        with pytest.raises(IngestNotFound, match="no active checkout link") as refused:
            checkout.open_order(world.checkout, link_slug=slug)
        assert refused.value.code == "unknown_link"

    assert database_state() == before


def test_it_refuses_another_checkouts_link(world: factories.World) -> None:
    with pytest.raises(IngestNotFound):
        checkout.open_order(world.other_checkout, link_slug=world.link.slug)


def test_it_refuses_a_currency_the_offer_is_not_sold_in(world: factories.World) -> None:
    before = database_state()

    with pytest.raises(PricingError, match="not sold in GBP"):
        open_order(world, currency="GBP")

    assert database_state() == before


def test_it_snapshots_actions_of_every_level_that_applies(world: factories.World) -> None:
    receipt = ActionConfig.objects.create(
        checkout=world.checkout, level=ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT
    )
    offer_grant = factories.kajabi_action(
        world.checkout, url="https://k.test/activate", offer=world.offer
    )
    course_hook = ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.PRODUCT,
        product=world.course,
        kind=ActionKind.WEBHOOK,
        settings={"url": "https://hooks.test/course"},
        version=3,
    )
    ActionConfig.objects.create(  # product not on the order
        checkout=world.checkout,
        level=ActionLevel.PRODUCT,
        product=world.coaching,
        kind=ActionKind.WEBHOOK,
    )
    ActionConfig.objects.create(  # inactive
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.CUSTOM_EMAIL,
        is_active=False,
    )
    ActionConfig.objects.create(  # another checkout's
        checkout=world.other_checkout, level=ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT
    )

    order = open_order(world)

    snapshots = list(ActionSnapshot.objects.filter(order=order))
    assert {s.config for s in snapshots} == {receipt, offer_grant, course_hook}
    hook = next(s for s in snapshots if s.config == course_hook)
    assert (hook.level, hook.product, hook.config_version) == ("product", world.course, 3)
    assert hook.settings == {"url": "https://hooks.test/course"}


def test_it_keeps_the_snapshot_when_the_configuration_changes_later(
    world: factories.World,
) -> None:
    config = factories.kajabi_action(
        world.checkout, url="https://k.test/activate", offer=world.offer
    )
    order = open_order(world)
    config.settings = {"activation_url": "https://changed.test/activate"}
    config.version = 2
    config.save()

    order = checkout.add_add_on(order, add_on_id=world.bump.pk)

    (snapshot,) = ActionSnapshot.objects.filter(order=order)
    assert snapshot.settings["activation_url"] == "https://k.test/activate"
    assert snapshot.config_version == 1


def test_it_follows_add_on_products_with_their_actions(world: factories.World) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.PRODUCT,
        product=world.coaching,
        kind=ActionKind.WEBHOOK,
    )
    order = open_order(world)

    order = checkout.add_add_on(order, add_on_id=world.upsell.pk)
    assert ActionSnapshot.objects.filter(order=order, product=world.coaching).count() == 1

    checkout.remove_add_on(order, add_on_id=world.upsell.pk)
    assert not ActionSnapshot.objects.filter(order=order).exists()


def test_it_saves_billing_and_moves_to_in_progress(world: factories.World) -> None:
    order = open_order(world)

    order = services.save_billing(
        order,
        email="  Maija.Meikalainen@Example.COM ",
        country="fi",
        first_name="Maija",
        last_name="Meikäläinen",
        city="Helsinki",
        analytics_consent=True,
        extra_fields={"How did you hear of us?": "A friend"},
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert order.customer_email == "maija.meikalainen@example.com"
    assert (order.country, order.first_name, order.city) == ("FI", "Maija", "Helsinki")
    assert order.analytics_consent is True
    assert order.extra_fields == {"How did you hear of us?": "A friend"}


def test_it_updates_billing_while_in_progress(world: factories.World) -> None:
    order = billed(world)

    order = services.save_billing(order, email="new@example.com", country="SE")

    order.refresh_from_db()
    assert (order.status, order.customer_email, order.country) == (
        OrderStatus.IN_PROGRESS,
        "new@example.com",
        "SE",
    )
    assert order.events.filter(type=EventType.BILLING_SAVED).count() == 2


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"email": "not-an-email", "country": "FI"}, "invalid_email", "not a valid email"),
        ({"email": "a@" + "b" * 250 + ".fi", "country": "FI"}, "invalid_email", "not a valid"),
        ({"email": "a@example.com", "country": "XX"}, "invalid_country", "not a country code"),
        ({"email": "a@example.com", "country": "EU"}, "invalid_country", "not a country code"),
        ({"email": "a@example.com", "country": "FI", "city": "x" * 101}, "invalid_billing", "city"),
    ],
)
def test_it_refuses_invalid_billing_and_changes_nothing(
    world: factories.World, fields: dict[str, Any], code: str, message: str
) -> None:
    order = open_order(world)
    before = database_state()

    with pytest.raises(IngestError, match=message) as refused:
        services.save_billing(order, **fields)

    assert refused.value.code == code
    assert database_state() == before


def test_it_adds_and_removes_an_order_bump(world: factories.World) -> None:
    order = open_order(world)

    order = checkout.add_add_on(order, add_on_id=world.bump.pk)
    assert [(line.kind, line.total_minor) for line in order.lines.all()] == [
        (LineKind.MAIN, 7900),
        (LineKind.ORDER_BUMP, 900),
    ]
    assert Order.objects.get(pk=order.pk).total_minor == 8800

    order = checkout.add_add_on(order, add_on_id=world.bump.pk)  # twice: no change
    assert order.lines.count() == 2

    order = checkout.remove_add_on(order, add_on_id=world.bump.pk)
    assert Order.objects.get(pk=order.pk).total_minor == 7900
    bump = world.bump.pk
    assert [(e.type, e.message, e.data) for e in order.events.order_by("pk")][1:] == [
        (EventType.ADD_ON_ADDED, "Order bump added: Workbook PDF", {"add_on": bump, "total_minor": 8800}),
        (EventType.ADD_ON_REMOVED, "Order bump removed: Workbook PDF", {"add_on": bump, "total_minor": 7900}),
    ]  # fmt: skip


def test_it_upgrades_the_offer_product(world: factories.World) -> None:
    order = checkout.add_add_on(open_order(world), add_on_id=world.upgrade.pk)

    assert [(line.kind, line.name) for line in order.lines.all()] == [
        (LineKind.UPGRADE, "Masterclass VIP")
    ]
    assert order.total_minor == 19900


def test_it_refuses_an_add_on_of_another_offer(world: factories.World) -> None:
    other_offer = Offer.objects.create(checkout=world.checkout, name="Other")
    foreign = AddOn.objects.create(offer=other_offer, kind="order_bump", product=world.workbook)
    order = open_order(world)
    before = database_state()

    with pytest.raises(IngestError, match="not part of this order's offer") as refused:
        checkout.add_add_on(order, add_on_id=foreign.pk)

    assert refused.value.code == "add_on_not_on_offer"
    assert database_state() == before


def test_it_applies_a_percentage_code_case_insensitively(world: factories.World) -> None:
    code = factories.discount_code(world.checkout, "SAVE10")
    order = open_order(world)

    order = checkout.apply_discount_code(order, code=" save10 ")

    order.refresh_from_db()
    assert order.discount_code == code
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (7900, 790, 7110)
    assert order.lines.get().discount_minor == 790


def test_it_keeps_the_code_when_add_ons_change(world: factories.World) -> None:
    factories.discount_code(world.checkout, "HALF", percent=Decimal(50))
    order = checkout.apply_discount_code(open_order(world), code="HALF")

    order = checkout.add_add_on(order, add_on_id=world.bump.pk)

    assert (order.discount_minor, order.total_minor) == (3950 + 450, 3950 + 450)


def test_it_removes_the_code(world: factories.World) -> None:
    factories.discount_code(world.checkout, "SAVE10")
    order = checkout.apply_discount_code(open_order(world), code="SAVE10")

    order = checkout.remove_discount_code(order)

    order.refresh_from_db()
    assert (order.discount_code, order.total_minor) == (None, 7900)
    assert [(e.type, e.message, e.data) for e in order.events.order_by("pk")][1:] == [
        (EventType.DISCOUNT_APPLIED, "Discount code SAVE10 applied", {"code": "SAVE10", "discount_minor": 790}),
        (EventType.DISCOUNT_REMOVED, "Discount code SAVE10 removed", {"code": "SAVE10"}),
    ]  # fmt: skip


def expired(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", valid_until=timezone.now() - dt.timedelta(days=1))


def not_yet(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", valid_from=timezone.now() + dt.timedelta(days=1))


def used_up(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", usage_limit=3, times_used=3)


def inactive(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", is_active=False)


def other_checkouts(w: factories.World) -> None:
    factories.discount_code(w.other_checkout, "CODE")


def fixed_without_sek(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", fixed_amounts={"EUR": 500})


def for_another_product(w: factories.World) -> None:
    factories.discount_code(w.checkout, "CODE", products=[w.coaching])


def excluding_discounted(w: factories.World) -> None:
    # The course sells at 79.00 on the offer instead of its own 99.00.
    factories.discount_code(w.checkout, "CODE", exclude_discounted=True)


@pytest.mark.parametrize(
    ("make", "currency", "code", "message"),
    [
        (None, "EUR", "discount_unknown", "does not exist"),
        (other_checkouts, "EUR", "discount_unknown", "does not exist"),
        (expired, "EUR", "discount_expired", "has expired"),
        (not_yet, "EUR", "discount_not_yet_valid", "not valid yet"),
        (used_up, "EUR", "discount_used_up", "has been used up"),
        (inactive, "EUR", "discount_inactive", "is not active"),
        (fixed_without_sek, "SEK", "discount_currency", "cannot be used with SEK"),
        (for_another_product, "EUR", "discount_not_applicable", "does not apply to any product"),
        (excluding_discounted, "EUR", "discount_not_applicable", "does not apply to any product"),
    ],
)
def test_it_refuses_a_code_that_cannot_be_used_and_changes_nothing(
    world: factories.World, make: object, currency: str, code: str, message: str
) -> None:
    if callable(make):
        make(world)
    order = open_order(world, currency=currency)
    before = database_state()

    with pytest.raises((IngestError, PricingError), match=message) as refused:
        checkout.apply_discount_code(order, code="CODE")

    assert getattr(refused.value, "code", None) == code
    assert database_state() == before


def test_it_refuses_a_code_this_email_has_used_up(world: factories.World) -> None:
    code = factories.discount_code(world.checkout, "ONCE", per_email_limit=1)
    factories.order(world, email="maija@example.com", discount_code=code)
    order = billed(world, email="Maija@Example.com")
    before = database_state()

    with pytest.raises(PricingError, match="already been used with this email") as refused:
        checkout.apply_discount_code(order, code="ONCE")

    assert refused.value.code == "discount_email_limit"
    assert database_state() == before


def test_it_refuses_billing_with_an_email_that_used_up_the_applied_code(
    world: factories.World,
) -> None:
    code = factories.discount_code(world.checkout, "ONCE", per_email_limit=1)
    factories.order(world, email="maija@example.com", discount_code=code)
    order = checkout.apply_discount_code(open_order(world), code="ONCE")
    before = database_state()

    with pytest.raises(PricingError, match="already been used with this email"):
        services.save_billing(order, email="maija@example.com", country="FI")

    assert database_state() == before


@pytest.mark.parametrize("status", [OrderStatus.PROCESSING, OrderStatus.PAID, OrderStatus.REFUNDED])
def test_it_refuses_to_reprice_once_payment_has_started(
    world: factories.World, status: OrderStatus
) -> None:
    factories.discount_code(world.checkout, "SAVE10")
    order = factories.order(world, status=status)
    before = database_state()
    calls: list[Callable[[], object]] = [
        lambda: checkout.add_add_on(order, add_on_id=world.bump.pk),
        lambda: checkout.remove_add_on(order, add_on_id=world.bump.pk),
        lambda: checkout.apply_discount_code(order, code="SAVE10"),
        lambda: checkout.remove_discount_code(order),
        lambda: services.save_billing(order, email="a@example.com", country="FI"),
    ]

    for call in calls:
        with pytest.raises(IngestConflict, match="can no longer change once payment has started"):
            call()

    assert database_state() == before
