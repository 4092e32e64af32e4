"""What the checkout does to an order before payment (SPEC F9): open, billing, add-ons, codes.

Each function locks the order it changes, refuses what the order's status no longer allows,
re-prices from the catalog (never from the caller's numbers) and writes a timeline event.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from babel import Locale
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from orderdesk.catalog.models import (
    AddOn,
    AddOnEffect,
    CheckoutLink,
    DiscountCode,
    Offer,
    OfferItem,
    Product,
    ProductPrice,
)
from orderdesk.lib.rows import insert_rows
from orderdesk.orders import numbers, transitions
from orderdesk.orders.devices import device_type
from orderdesk.orders.events import Actor, EventType, event_values, record_event
from orderdesk.orders.models import Order, OrderEvent, OrderLine, OrderStatus, OrderTag
from orderdesk.orders.pricing import ItemPrices, Quote, check_discount_code, quote_offer
from orderdesk.organizations.models import Checkout

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
    the order's post-purchase actions in the same transaction. Every checkout page view opens
    one, so it reads the link, offer, items and prices in one query, takes its number in its
    own INSERT (`orders.numbers`) and writes lines, tags and its event one INSERT each; the
    order comes back with its lines, link and offer loaded and no payment attempts.
    """
    link, offer, items = _link_offer(checkout, link_slug)
    if not currency:
        currency = (
            offer.currencies[0] if offer.currencies else checkout.organization.default_currency
        )
    currency = currency.upper()
    quote = quote_offer(offer, currency, items=items)
    device = device_type(user_agent)
    tags = list(dict.fromkeys(str(tag)[:50] for tag in link.tags))
    now = timezone.now()
    # No savepoint when the caller's transaction wraps this: two fewer round trips per open.
    with transaction.atomic(savepoint=False):
        order = Order(
            organization_id=checkout.organization_id,
            checkout=checkout,
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
        # The order as a plain row too; its id and number (taken by the INSERT) come back.
        values = {
            field.attname: field.pre_save(order, add=True)
            for field in Order._meta.concrete_fields
            if not field.primary_key and not field.generated
        }
        values["number"] = numbers.next_number(checkout.organization_id)
        ((order.id, order.number),) = insert_rows(Order, [values], returning=["id", "number"])
        order._state.adding = False
        order._state.db = connection.alias
        # Its line, tags and event as plain rows (lib/rows.py): ~1.5 ms of CPU less per open.
        line_values = _line_values(order, quote)
        insert_rows(OrderLine, line_values)
        insert_rows(
            OrderTag,
            [
                {"order_id": order.pk, "checkout_id": checkout.pk, "tag": tag, "created_at": now}
                for tag in tags
            ],
        )
        insert_rows(
            OrderEvent,
            [
                {
                    **event_values(
                        order,
                        type=EventType.OPENED,
                        message=f"Checkout opened from link {link.name}",
                        actor=Actor.customer(),
                        data={"link": link.slug, "source": link.source, "device_type": device},
                    ),
                    "created_at": now,
                }
            ],
        )
        lines = [OrderLine(**values) for values in line_values]
    # What the caller shows next is known without reading it back.
    _keep_prefetched(order, lines=lines, payment_attempts=[])
    return order


# The open's one read of the catalog: the active link, its active offer, and each item's
# product with every price (a row per item and price; one row with no item for an offer that
# sells none). Written as SQL because every checkout page view runs it: the same read through
# the ORM cost about 1 ms more CPU (issue 16).
LINK_OFFER_SQL = f"""
    SELECT l.id, l.name, l.source, l.tags, o.id, o.name, o.currencies,
        i.id, i.quantity, i.price_overrides, p.id, p.name, p.vat_rate, pp.currency, pp.amount_minor
    FROM {CheckoutLink._meta.db_table} l
    JOIN {Offer._meta.db_table} o ON o.id = l.offer_id
    LEFT JOIN {OfferItem._meta.db_table} i ON i.offer_id = o.id
    LEFT JOIN {Product._meta.db_table} p ON p.id = i.product_id
    LEFT JOIN {ProductPrice._meta.db_table} pp ON pp.product_id = p.id
    WHERE l.checkout_id = %s AND l.slug = %s AND l.is_active AND o.is_active
    ORDER BY i.position, i.id
"""  # noqa: S608 (table names from the models, values as parameters)
CENT = Decimal("0.01")


def _json(value: Any) -> Any:
    # Django's PostgreSQL connection hands json back as text, as SQLite does.
    return json.loads(value) if isinstance(value, str | bytes) else value


def _link_offer(checkout: Checkout, slug: str) -> tuple[CheckoutLink, Offer, list[ItemPrices]]:
    """The active link, its active offer and the offer's items with their prices."""
    with connection.cursor() as cursor:
        cursor.execute(LINK_OFFER_SQL, [checkout.pk, slug])
        rows = cursor.fetchall()
    if not rows:
        raise IngestNotFound(
            f"There is no active checkout link {slug!r} in this checkout.",
            code="unknown_link",
        )
    link_id, link_name, source, tags, offer_id, offer_name, currencies = rows[0][:7]
    link = CheckoutLink(
        id=link_id,
        checkout=checkout,
        offer_id=offer_id,
        name=link_name,
        slug=slug,
        source=source,
        tags=_json(tags),
        is_active=True,
    )
    offer = Offer(
        id=offer_id,
        checkout=checkout,
        name=offer_name,
        currencies=_json(currencies),
        is_active=True,
    )
    for instance in (link, offer):
        instance._state.adding = False
        instance._state.db = connection.alias
    items: dict[int, ItemPrices] = {}
    for row in rows:
        (item_id, quantity, overrides, product_id, name, vat_rate, price_currency, amount) = row[7:]
        if item_id is None:
            continue
        item = items.get(item_id)
        if item is None:
            item = items[item_id] = ItemPrices(
                pk=item_id,
                product_id=product_id,
                name=name,
                # SQLite may hand a decimal back as a float; two places, as the field stores.
                vat_rate=Decimal(str(vat_rate)).quantize(CENT),
                quantity=quantity,
                price_overrides=_json(overrides),
                prices={},
            )
        if price_currency is not None:
            item.prices[price_currency] = amount
    return link, offer, list(items.values())


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
        values["analytics_consent"] = analytics_consent
        if order.status == OrderStatus.STARTED:
            # The form and the status in one UPDATE.
            order = transitions.start_progress(order, actor=Actor.customer(), locked=True, **values)
        else:
            for name, value in values.items():
                setattr(order, name, value)
            order.save(update_fields=[*values, "updated_at"])
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


def _totals(quote: Quote) -> dict[str, int]:
    return {
        "subtotal_minor": quote.subtotal_minor,
        "discount_minor": quote.discount_minor,
        "vat_minor": quote.vat_minor,
        "total_minor": quote.total_minor,
    }


def _keep_prefetched(order: Order, **related: list[Any]) -> None:
    """Leave rows just written on `order` as if prefetched, so the caller reads them without a
    query. Each is a QuerySet holding them, as Django's own prefetch leaves it: `order.lines
    .all()` answers from memory, and `.filter()` / `.order_by()` still query as usual (a plain
    list there broke them)."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    for name, rows in related.items():
        queryset = getattr(order, name).get_queryset()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        cache[name] = queryset
    order._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def write_lines(
    order: Order, quote: Quote, *, stamp_lines: bool = False, replace: bool = True
) -> list[OrderLine]:
    """Replace the order's lines with the quote's, in the quote's order.

    `stamp_lines` gives each line its own item stamp for Paytrail (test orders use it);
    `replace=False` skips deleting lines a new order cannot have.
    """
    if replace:
        order.lines.all().delete()
    return OrderLine.objects.bulk_create(
        OrderLine(**values) for values in _line_values(order, quote, stamp_lines=stamp_lines)
    )


def _line_values(order: Order, quote: Quote, *, stamp_lines: bool = False) -> list[dict[str, Any]]:
    """The columns of the quote's lines on the order, in the quote's order."""
    return [
        {
            "order_id": order.pk,
            "kind": line.input.kind,
            "product_id": line.input.product_id,
            "add_on_id": line.input.add_on_id,
            "name": line.input.name,
            "position": position,
            "unit_price_minor": line.input.unit_price_minor,
            "quantity": line.input.quantity,
            "list_price_minor": line.input.list_price_minor or line.input.unit_price_minor,
            "discount_minor": line.discount_minor,
            "vat_rate": line.input.vat_rate,
            "vat_minor": line.vat_minor,
            "total_minor": line.total_minor,
            "refunded_minor": 0,
            "stamp": uuid.uuid4().hex if stamp_lines else "",
        }
        for position, line in enumerate(quote.lines)
    ]


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
    """Write a re-priced order (lines, totals, code) and the customer's change on its timeline.

    The new lines stay on the order, for the snapshots and the answer that read them next."""
    lines = write_lines(order, quote)
    _keep_prefetched(order, lines=lines)
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
    """The locked order, the offer's add-on asked for, and the add-ons already chosen: the
    offer's add-ons are read once, with their products and prices."""
    order = _lock_editable(order, "The products")
    chosen_ids = set(order.lines.exclude(add_on=None).values_list("add_on_id", flat=True))
    offered = {
        add_on.pk: add_on
        for add_on in AddOn.objects.select_related("product")
        .prefetch_related("product__prices")
        .filter(offer=order.offer)
    }
    add_on = offered.get(add_on_id)
    if add_on is None:
        raise IngestError(
            f"Add-on {add_on_id} is not part of this order's offer.", code="add_on_not_on_offer"
        )
    return order, add_on, [offered[pk] for pk in sorted(chosen_ids) if pk in offered]


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
