"""What the checkout does to an order before payment (SPEC F9): open, billing, add-ons, codes.

Each function locks the order it changes, refuses what the order's status no longer allows,
re-prices from the catalog (never from the caller's numbers) and writes a timeline event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from babel import Locale
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from orderdesk.catalog.models import AddOn, AddOnEffect, CheckoutLink, DiscountCode
from orderdesk.orders import transitions
from orderdesk.orders.devices import device_type
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderLine, OrderStatus, OrderTag
from orderdesk.orders.pricing import Quote, check_discount_code, quote_offer
from orderdesk.organizations.models import Checkout, Organization

# Products and discount may change only until a payment is handed to a provider.
EDITABLE = frozenset({OrderStatus.STARTED, OrderStatus.IN_PROGRESS})
TOTAL_FIELDS = ("subtotal_minor", "discount_minor", "vat_minor", "total_minor")
BILLING_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "vat_id",
)
# CLDR territory codes that are groupings or placeholders, not countries.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
COUNTRIES = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
)
MAX_EXTRA_FIELDS = 50


class IngestError(Exception):
    """Checkout input that cannot be accepted; nothing was changed.

    The message is meant for the customer; `code` names the refused rule for API clients.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class IngestNotFound(IngestError):
    """The checkout link or order asked for does not exist in this checkout."""


class IngestConflict(IngestError):
    """The order's status no longer allows the change, e.g. its payment has started."""


def open_order(
    checkout: Checkout, *, link_slug: str, currency: str | None = None, user_agent: str = ""
) -> Order:
    """Open a Started order for a checkout link, priced from its offer with no add-ons.

    The checkout calls this through `workflows.checkout.open_order`, which also snapshots
    the order's post-purchase actions in the same transaction.
    """
    link = (
        CheckoutLink.objects.select_related("offer", "checkout__organization")
        .filter(checkout=checkout, slug=link_slug, is_active=True, offer__is_active=True)
        .first()
    )
    if link is None:
        raise IngestNotFound(
            f"There is no active checkout link {link_slug!r} in this checkout.",
            code="unknown_link",
        )
    offer = link.offer
    if not currency:
        currency = (
            offer.currencies[0] if offer.currencies else link.checkout.organization.default_currency
        )
    currency = currency.upper()
    quote = quote_offer(offer, currency)
    device = device_type(user_agent)
    tags = list(dict.fromkeys(str(tag)[:50] for tag in link.tags))
    now = timezone.now()
    # No savepoint when the caller's transaction wraps this: two fewer round trips per open.
    with transaction.atomic(savepoint=False):
        order = Order.objects.create(
            organization_id=checkout.organization_id,
            checkout=checkout,
            number=next_order_number(checkout.organization_id),
            link=link,
            offer=offer,
            currency=currency,
            source=link.source,
            tags=tags,
            device_type=device,
            user_agent=user_agent[:500],
            created_at=now,
            **_totals(quote),
        )
        write_lines(order, quote)
        OrderTag.objects.bulk_create(
            OrderTag(order=order, checkout=checkout, tag=tag, created_at=now) for tag in tags
        )
        record_event(
            order,
            type=EventType.OPENED,
            message=f"Checkout opened from link {link.name}",
            actor=Actor.customer(),
            data={"link": link.slug, "source": link.source, "device_type": device},
        )
    return order


def save_billing(
    order: Order,
    *,
    email: str,
    country: str,
    analytics_consent: bool | None = None,
    extra_fields: dict[str, str] | None = None,
    **fields: str,
) -> Order:
    """Store the billing form (fields named as in BILLING_FIELDS) and move Started → In Progress.

    The email is stored lower-cased so filters can match it with a plain index.
    """
    values = _clean_billing(email=email, country=country, extra_fields=extra_fields, fields=fields)
    with transaction.atomic():
        order = transitions.lock_order(order)
        if order.status not in EDITABLE:
            raise _too_late(order, "The billing details")
        if order.discount_code is not None:
            check_discount_code(
                order.discount_code,
                email=values["customer_email"],
                currency=order.currency,
                now=timezone.now(),
            )
        for name, value in values.items():
            setattr(order, name, value)
        order.analytics_consent = analytics_consent
        order.save(update_fields=[*values, "analytics_consent", "updated_at"])
        if order.status == OrderStatus.STARTED:
            order = transitions.start_progress(order, actor=Actor.customer())
        else:
            record_event(
                order,
                type=EventType.BILLING_SAVED,
                message="Billing details updated",
                actor=Actor.customer(),
            )
    return order


def add_add_on(order: Order, *, add_on_id: int) -> Order:
    """Put one of the offer's order bumps or pre-upsells on the order; adding it twice is a no-op."""
    with transaction.atomic():
        order, add_on, add_ons = _lock_for_add_on(order, add_on_id)
        if add_on in add_ons:
            return order
        if add_on.effect == AddOnEffect.UPGRADE and any(
            chosen.upgrades_id == add_on.upgrades_id for chosen in add_ons
        ):
            raise IngestError(
                "That product has already been upgraded on this order.", code="already_upgraded"
            )
        _save_add_ons(order, [*add_ons, add_on], event=EventType.ADD_ON_ADDED, changed=add_on)
    return order


def remove_add_on(order: Order, *, add_on_id: int) -> Order:
    """Take an add-on off the order; removing one that is not on it is a no-op."""
    with transaction.atomic():
        order, add_on, add_ons = _lock_for_add_on(order, add_on_id)
        if add_on not in add_ons:
            return order
        add_ons.remove(add_on)
        _save_add_ons(order, add_ons, event=EventType.ADD_ON_REMOVED, changed=add_on)
    return order


def apply_discount_code(order: Order, *, code: str) -> Order:
    """Apply a discount code (replacing any other) if every rule of SPEC §1 allows it."""
    code = code.strip()
    with transaction.atomic():
        order = _lock_editable(order, "The discount code")
        discount_code = (
            DiscountCode.objects.filter(checkout_id=order.checkout_id, code__iexact=code).first()
            if code
            else None
        )
        if discount_code is None:
            raise IngestError(f"Discount code {code!r} does not exist.", code="discount_unknown")
        check_discount_code(
            discount_code, email=order.customer_email, currency=order.currency, now=timezone.now()
        )
        quote = _quote(order, add_ons=_chosen_add_ons(order), discount_code=discount_code)
        if quote.discount_minor == 0:
            raise IngestError(
                f"Discount code {discount_code.code} does not apply to any product in this order.",
                code="discount_not_applicable",
            )
        _save_quote(
            order,
            quote,
            discount_code=discount_code,
            event=EventType.DISCOUNT_APPLIED,
            message=f"Discount code {discount_code.code} applied",
            data={"code": discount_code.code, "discount_minor": quote.discount_minor},
        )
    return order


def remove_discount_code(order: Order) -> Order:
    """Take the discount code off the order; a no-op when it has none."""
    with transaction.atomic():
        order = _lock_editable(order, "The discount code")
        discount_code = order.discount_code
        if discount_code is None:
            return order
        _save_quote(
            order,
            _quote(order, add_ons=_chosen_add_ons(order), discount_code=None),
            discount_code=None,
            event=EventType.DISCOUNT_REMOVED,
            message=f"Discount code {discount_code.code} removed",
            data={"code": discount_code.code},
        )
    return order


def next_order_number(organization_id: int) -> int:
    """Hand out the organization's next order number; must run inside a transaction."""
    # The row lock serializes numbering per organization, so numbers never repeat; it is held
    # only until the order's own inserts commit.
    organization = (
        Organization.objects.select_for_update().only("last_order_number").get(pk=organization_id)
    )
    organization.last_order_number += 1
    organization.save(update_fields=["last_order_number"])
    return organization.last_order_number


def _totals(quote: Quote) -> dict[str, int]:
    return {
        "subtotal_minor": quote.subtotal_minor,
        "discount_minor": quote.discount_minor,
        "vat_minor": quote.vat_minor,
        "total_minor": quote.total_minor,
    }


def write_lines(order: Order, quote: Quote, *, stamp_lines: bool = False) -> list[OrderLine]:
    """Replace the order's lines with the quote's, in the quote's order.

    `stamp_lines` gives each line its own item stamp for Paytrail (test orders use it).
    """
    order.lines.all().delete()
    return OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            kind=line.input.kind,
            product_id=line.input.product_id,
            add_on_id=line.input.add_on_id,
            name=line.input.name,
            position=position,
            unit_price_minor=line.input.unit_price_minor,
            quantity=line.input.quantity,
            list_price_minor=line.input.list_price_minor or line.input.unit_price_minor,
            discount_minor=line.discount_minor,
            vat_rate=line.input.vat_rate,
            vat_minor=line.vat_minor,
            total_minor=line.total_minor,
            stamp=uuid.uuid4().hex if stamp_lines else "",
        )
        for position, line in enumerate(quote.lines)
    )


def _quote(order: Order, *, add_ons: Sequence[AddOn], discount_code: DiscountCode | None) -> Quote:
    """Price the order's offer afresh from the catalog with these add-ons and code."""
    if order.offer is None:
        raise IngestConflict(
            f"The offer of order #{order.number} no longer exists.", code="offer_gone"
        )
    return quote_offer(order.offer, order.currency, add_ons=add_ons, discount_code=discount_code)


def _save_quote(
    order: Order,
    quote: Quote,
    *,
    discount_code: DiscountCode | None,
    event: EventType,
    message: str,
    data: dict[str, Any],
) -> None:
    """Write a re-priced order (lines, totals, code) and the customer's change on its timeline."""
    write_lines(order, quote)
    for name, value in _totals(quote).items():
        setattr(order, name, value)
    order.discount_code = discount_code
    order.save(update_fields=[*TOTAL_FIELDS, "discount_code", "updated_at"])
    record_event(order, type=event, message=message, actor=Actor.customer(), data=data)


def _lock_editable(order: Order, what: str) -> Order:
    order = transitions.lock_order(order)
    if order.status not in EDITABLE:
        raise _too_late(order, what)
    return order


def _too_late(order: Order, what: str) -> IngestConflict:
    return IngestConflict(
        f"Order #{order.number} is {order.get_status_display()}: {what} can no longer change "
        "once payment has started.",
        code="payment_started",
    )


def _lock_for_add_on(order: Order, add_on_id: int) -> tuple[Order, AddOn, list[AddOn]]:
    """The locked order, the offer's add-on asked for, and the add-ons already chosen."""
    order = _lock_editable(order, "The products")
    return order, _offer_add_on(order, add_on_id), _chosen_add_ons(order)


def _save_add_ons(order: Order, add_ons: list[AddOn], *, event: EventType, changed: AddOn) -> None:
    """Re-price the order with `add_ons` after the customer added or removed `changed`."""
    quote = _quote(order, add_ons=add_ons, discount_code=order.discount_code)
    verb = "added" if event == EventType.ADD_ON_ADDED else "removed"
    _save_quote(
        order,
        quote,
        discount_code=order.discount_code,
        event=event,
        message=f"{changed.get_kind_display()} {verb}: {changed.product.name}",
        data={"add_on": changed.pk, "total_minor": quote.total_minor},
    )


def _offer_add_on(order: Order, add_on_id: int) -> AddOn:
    add_on = (
        AddOn.objects.select_related("product")
        .prefetch_related("product__prices")
        .filter(pk=add_on_id, offer=order.offer)
        .first()
    )
    if add_on is None:
        raise IngestError(
            f"Add-on {add_on_id} is not part of this order's offer.", code="add_on_not_on_offer"
        )
    return add_on


def _chosen_add_ons(order: Order) -> list[AddOn]:
    return list(
        AddOn.objects.select_related("product")
        .prefetch_related("product__prices")
        .filter(pk__in=order.lines.exclude(add_on=None).values("add_on_id"))
    )


def _clean_billing(
    *, email: str, country: str, extra_fields: dict[str, str] | None, fields: dict[str, str]
) -> dict[str, Any]:
    unknown = set(fields) - set(BILLING_FIELDS)
    if unknown:
        raise TypeError(f"Unknown billing fields: {', '.join(sorted(unknown))}")
    email = email.strip().lower()
    try:
        if len(email) > (_max_length("customer_email") or 0):
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise IngestError(
            f"{email!r} is not a valid email address.", code="invalid_email"
        ) from None
    country = country.strip().upper()
    if country not in COUNTRIES:
        raise IngestError(
            f"{country!r} is not a country code (ISO 3166-1 alpha-2, e.g. FI).",
            code="invalid_country",
        )
    values: dict[str, Any] = {"customer_email": email, "country": country}
    for name in BILLING_FIELDS:
        value = fields.get(name, "").strip()
        limit = _max_length(name)
        if limit is not None and len(value) > limit:
            label = name.replace("_", " ")
            raise IngestError(
                f"The {label} is too long: at most {limit} characters.", code="invalid_billing"
            )
        values[name] = value
    extra = extra_fields or {}
    if len(extra) > MAX_EXTRA_FIELDS or any(
        len(str(key)) > 100 or len(str(value)) > 1000 for key, value in extra.items()
    ):
        raise IngestError(
            f"Too many or too long extra fields: at most {MAX_EXTRA_FIELDS}, "
            "labels up to 100 and values up to 1000 characters.",
            code="invalid_billing",
        )
    values["extra_fields"] = {str(key): str(value) for key, value in extra.items()}
    return values


def _max_length(field_name: str) -> int | None:
    field = Order._meta.get_field(field_name)
    return getattr(field, "max_length", None)
