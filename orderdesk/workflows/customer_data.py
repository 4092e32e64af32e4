"""A customer's data on request (issue 14): everything Orderdesk holds about one email, as
JSON or CSV, and erasing their personal data while keeping what bookkeeping must keep.

Both act on the orders of the email among those the caller may see (the caller scopes them,
as for the customer's page) and leave an entry on each order's timeline. Erasing blanks the
names, email, address, phone, company, the free-text billing fields and the user agent, and
the email wherever the timeline or an action's error quotes it; amounts, VAT (and the VAT ID
and country it depends on), dates, products, order numbers, payments and refunds stay.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.translation import ngettext

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderEvent, OrderQuerySet
from orderdesk.payments.models import PaymentAttempt, Refund

ERASED = "[erased]"
# The personal data of an order, blanked by an erase.
PERSONAL_FIELDS = (
    "customer_email",
    "first_name",
    "last_name",
    "company",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "user_agent",
)
ORDER_FIELDS = (
    "number",
    "status",
    "created_at",
    "paid_at",
    "completed_at",
    "currency",
    "subtotal_minor",
    "discount_minor",
    "vat_minor",
    "total_minor",
    "refunded_minor",
    "customer_email",
    "first_name",
    "last_name",
    "company",
    "phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "vat_id",
    "extra_fields",
    "analytics_consent",
    "source",
    "tags",
    "device_type",
    "user_agent",
)
# What staff write for each other stays out of what the customer receives.
_NOT_EXPORTED_EVENTS = (EventType.INTERNAL_NOTE,)


class CountChanged(Exception):
    """The number of orders to erase is not the one the confirmation named."""

    def __init__(self, expected: int, found: int) -> None:
        self.expected, self.found = expected, found
        super().__init__(
            ngettext(
                "The customer now has %(found)s order, not %(expected)s: review the "
                "confirmation again.",
                "The customer now has %(found)s orders, not %(expected)s: review the "
                "confirmation again.",
                found,
            )
            % {"found": found, "expected": expected}
        )


def customer_orders(orders: OrderQuerySet, email: str) -> OrderQuerySet:
    """The orders of `email` (lower-cased, as stored) among `orders`."""
    email = email.strip().lower()
    return orders.filter(customer_email=email) if email else orders.none()


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def customer_data(orders: OrderQuerySet, email: str) -> dict[str, Any]:
    """Everything held about the customer, JSON-ready: each order with its lines, payments,
    refunds, post-purchase actions and timeline (internal notes left out)."""
    rows = list(
        customer_orders(orders, email)
        .select_related("offer", "checkout")
        .prefetch_related("lines")
        .order_by("created_at", "pk")
    )
    ids = [o.pk for o in rows]
    payments = _by_order(PaymentAttempt.objects.filter(order_id__in=ids).order_by("created_at"))
    refunds = _by_order(Refund.objects.filter(order_id__in=ids).order_by("created_at"))
    actions = _by_order(ActionSnapshot.objects.filter(order_id__in=ids).order_by("position"))
    events = _by_order(
        OrderEvent.objects.filter(order_id__in=ids)
        .exclude(type__in=_NOT_EXPORTED_EVENTS)
        .order_by("created_at", "pk")
    )
    return {
        "email": email.strip().lower(),
        "exported_at": timezone.now().isoformat(),
        "orders": [
            {
                **{name: _value(getattr(order, name)) for name in ORDER_FIELDS},
                "checkout": order.checkout.name,
                "offer": order.offer.name if order.offer else None,
                "lines": [
                    {
                        "name": line.name,
                        "quantity": line.quantity,
                        "unit_price_minor": line.unit_price_minor,
                        "discount_minor": line.discount_minor,
                        "vat_rate": str(line.vat_rate),
                        "vat_minor": line.vat_minor,
                        "total_minor": line.total_minor,
                        "refunded_minor": line.refunded_minor,
                    }
                    for line in order.lines.all()
                ],
                "payments": [
                    {
                        "provider": p.provider,
                        "method": p.method,
                        "status": p.status,
                        "amount_minor": p.amount_minor,
                        "currency": p.currency,
                        "reference": p.provider_reference,
                        "created_at": _value(p.created_at),
                    }
                    for p in payments.get(order.pk, [])
                ],
                "refunds": [
                    {
                        "status": r.status,
                        "amount_minor": r.amount_minor,
                        "currency": r.currency,
                        "reason": r.reason,
                        "created_at": _value(r.created_at),
                    }
                    for r in refunds.get(order.pk, [])
                ],
                "post_purchase_actions": [
                    {"name": a.label, "kind": a.kind, "status": a.status}
                    for a in actions.get(order.pk, [])
                ],
                "timeline": [
                    {"at": _value(e.created_at), "type": e.type, "message": e.message}
                    for e in events.get(order.pk, [])
                ],
            }
            for order in rows
        ],
    }


def _by_order(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.order_id, []).append(row)
    return grouped


CSV_COLUMNS = (*ORDER_FIELDS, "offer", "products")


def customer_csv(data: dict[str, Any]) -> str:
    """`customer_data` as CSV: one row per order, its products in one cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for order in data["orders"]:
        products = "; ".join(f"{line['quantity']} × {line['name']}" for line in order["lines"])
        row = [order[name] for name in ORDER_FIELDS] + [order["offer"] or "", products]
        writer.writerow(_safe(value) for value in row)
    return out.getvalue()


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is kept as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def record_export(orders: OrderQuerySet, email: str, *, file_format: str, actor: Actor) -> int:
    """Leave "Customer data exported" on each order's timeline; returns how many."""
    rows = list(customer_orders(orders, email))
    for order in rows:
        record_event(
            order,
            type=EventType.CUSTOMER_DATA_EXPORTED,
            message=f"Customer data exported ({file_format.upper()})",
            actor=actor,
        )
    return len(rows)


def erase_customer(orders: OrderQuerySet, email: str, *, expected: int, actor: Actor) -> int:
    """Erase the personal data of the customer's orders; returns how many were erased.

    `expected` is the count the confirmation named: if orders came or went since, nothing is
    erased (CountChanged), so staff never erase more than they saw.
    """
    email = email.strip().lower()
    with transaction.atomic():
        locked = list(
            customer_orders(orders, email)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if len(locked) != expected or not locked:
            raise CountChanged(expected, len(locked))
        Order.objects.filter(pk__in=locked).update(
            **dict.fromkeys(PERSONAL_FIELDS, ""), extra_fields={}, updated_at=timezone.now()
        )
        # Messages and errors that quote the address (a failed email action, a payment event).
        OrderEvent.objects.filter(order_id__in=locked, message__contains=email).update(
            message=Replace(F("message"), Value(email), Value(ERASED))
        )
        ActionSnapshot.objects.filter(order_id__in=locked, last_error__contains=email).update(
            last_error=Replace(F("last_error"), Value(email), Value(ERASED))
        )
        ActionRun.objects.filter(
            snapshot__order_id__in=locked, error_message__contains=email
        ).update(error_message=Replace(F("error_message"), Value(email), Value(ERASED)))
        for order in Order.objects.filter(pk__in=locked):
            record_event(
                order,
                type=EventType.CUSTOMER_DATA_ERASED,
                message="Customer personal data erased on request",
                actor=actor,
            )
    return len(locked)
