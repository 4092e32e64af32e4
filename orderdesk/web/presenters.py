"""What the orders table shows per row, computed from prefetched data (no queries here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from orderdesk.lib.money import country_name, format_money
from orderdesk.orders.models import LineKind, Order
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Provider

# Attempts that moved money describe the order better than a later abandoned retry.
_SETTLED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
METHOD_LABELS = {
    "card": "Card",
    "mobilepay": "MobilePay",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "epassi": "Epassi",
    "invoice": "Invoice",
    "bank_transfer": "Bank transfer",
    "osuuspankki": "OP",
    "nordea": "Nordea",
    "danske": "Danske Bank",
    "klarna": "Klarna",
}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method.replace("_", " ").capitalize())


def provider_label(provider: str) -> str:
    try:
        return str(Provider(provider).label)
    except ValueError:
        return provider.capitalize()


def relevant_attempt(attempts: list[PaymentAttempt]) -> PaymentAttempt | None:
    """The latest attempt that settled, else the latest attempt of any status."""
    if not attempts:
        return None
    ordered = sorted(attempts, key=lambda a: (a.created_at, a.pk))
    settled = [a for a in ordered if a.status in _SETTLED]
    return (settled or ordered)[-1]


def short_time(value: dt.datetime, now: dt.datetime) -> str:
    """`14:05` today, `27 Nov` this year, `27 Nov 2025` before; in the active time zone."""
    local, local_now = timezone.localtime(value), timezone.localtime(now)
    if local.date() == local_now.date():
        return local.strftime("%H:%M")
    if local.year == local_now.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


def exact_time(value: dt.datetime) -> str:
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({timezone.get_current_timezone_name()})"


@dataclass(frozen=True)
class ProductName:
    name: str
    kind: str
    kind_label: str

    @property
    def is_add_on(self) -> bool:
        return self.kind != LineKind.MAIN


@dataclass(frozen=True)
class OrderRow:
    order: Order
    created_short: str
    created_exact: str
    total: str
    refunded: str
    products: list[ProductName]
    payment: str
    country: str
    url: str


def order_row(order: Order, now: dt.datetime, query: str = "") -> OrderRow:
    """Needs `lines` and `payment_attempts` prefetched; `query` keeps the table's filters."""
    kinds = [LineKind.MAIN, LineKind.ORDER_BUMP, LineKind.PRE_UPSELL, LineKind.UPGRADE]
    lines = sorted(
        order.lines.all(), key=lambda line: (kinds.index(LineKind(line.kind)), line.position)
    )
    attempt = relevant_attempt(list(order.payment_attempts.all()))
    payment = ""
    if attempt is not None:
        payment = " · ".join(
            (
                provider_label(attempt.provider),
                method_label(attempt.method),
                str(PaymentStatus(attempt.status).label),
            )
        )
    return OrderRow(
        order=order,
        created_short=short_time(order.created_at, now),
        created_exact=exact_time(order.created_at),
        total=format_money(order.total_minor, order.currency),
        refunded=format_money(order.refunded_minor, order.currency) if order.refunded_minor else "",
        products=[
            ProductName(line.name, line.kind, str(LineKind(line.kind).label)) for line in lines
        ],
        payment=payment,
        country=country_name(order.country),
        url=reverse("order_detail", args=[order.number]) + (f"?{query}" if query else ""),
    )
