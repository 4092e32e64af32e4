"""The Refund dialog (SPEC F5): what it shows per product, and reading what staff typed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.http import QueryDict

from orderdesk.lib.money import AmountError, format_money, minor_exponent, parse_major
from orderdesk.orders.models import Order, OrderLine
from orderdesk.payments.models import RefundStatus
from orderdesk.payments.refunds import (
    ALL,
    max_refundable_by_line,
    offer_access_snapshots,
    pending_by_line,
    plan_refund,
    refundable_attempt,
)

REMINDER = (
    "Always mark orders correctly even when a direct refund is not possible: unrefunded orders "
    "skew order reports."
)


@dataclass
class RefundRow:
    line: OrderLine
    max_minor: int
    value: str = ""
    remove_access: bool = False
    error: str = ""
    is_full: bool = False  # the amount typed is the product's whole remaining price

    @property
    def field(self) -> str:
        return f"amount_{self.line.pk}"

    @property
    def access_field(self) -> str:
        return f"remove_access_{self.line.pk}"

    @property
    def can_remove_access(self) -> bool:
        # "Remove access" belongs to a product refunded in full by this refund.
        return 0 < self.max_minor == self.line.refundable_minor


@dataclass
class RefundForm:
    order: Order
    rows: list[RefundRow]
    key: str
    refund_payments: bool = True
    remove_offer_access: bool = False
    reason: str = ""
    show_offer_access: bool = False
    payment_left_minor: int = 0
    message_full: str = ""
    message_partial: str = ""
    message_unchecked: str = ""
    errors: list[str] = field(default_factory=list)
    # Filled by `read`: what the service gets.
    amounts: dict[int, int] = field(default_factory=dict)
    remove_access_line_ids: list[int] = field(default_factory=list)

    @property
    def exponent(self) -> int:
        return minor_exponent(self.order.currency)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.error for row in self.rows)

    @property
    def reminder(self) -> str:
        return REMINDER

    @property
    def route_message(self) -> str:
        if not self.refund_payments:
            return self.message_unchecked
        total = sum(self.amounts.values())
        return self.message_partial if total < self.payment_left_minor else self.message_full

    def add_errors(self, field_errors: dict[int | str, str]) -> None:
        by_line = {row.line.pk: row for row in self.rows}
        for target, message in field_errors.items():
            row = by_line.get(target) if isinstance(target, int) else None
            if row is not None:
                row.error = message
            elif target == ALL:
                self.errors.append(message)
            else:
                self.errors.append(f"{message} (line {target})")


def _route_message(order: Order, *, partial: bool, via_provider: bool) -> str:
    route = plan_refund(order, partial=partial, via_provider=via_provider)
    if route.problem:
        return route.problem
    if route.via_provider:
        return f"The money is returned to the customer through {route.provider}."
    return route.recorded_reason


def refund_form(order: Order) -> RefundForm:
    """A blank form for the order, with a fresh key that makes a resubmission harmless."""
    lines = list(order.lines.all())
    limits = max_refundable_by_line(order, lines)
    attempt = refundable_attempt(order)
    payment_left = 0
    if attempt is not None:
        in_flight = sum(
            r.amount_minor for r in attempt.refunds.all() if r.status == RefundStatus.PENDING
        )
        payment_left = attempt.amount_minor - attempt.refunded_minor - in_flight
    elif order.total_minor:
        payment_left = (
            order.total_minor - order.refunded_minor - sum(pending_by_line(order).values())
        )
    return RefundForm(
        order=order,
        rows=[RefundRow(line=line, max_minor=limits[line.pk]) for line in lines],
        key=uuid.uuid4().hex,
        show_offer_access=bool(offer_access_snapshots(order)),
        payment_left_minor=payment_left,
        message_full=_route_message(order, partial=False, via_provider=True),
        message_partial=_route_message(order, partial=True, via_provider=True),
        message_unchecked=_route_message(order, partial=True, via_provider=False),
    )


def read(form: RefundForm, data: QueryDict) -> RefundForm:
    """Fill the form from a POST; amount errors go next to their fields."""
    form.key = data.get("key", "")[:64]
    form.refund_payments = data.get("refund_payments") == "on"
    form.remove_offer_access = form.show_offer_access and data.get("remove_offer_access") == "on"
    form.reason = data.get("reason", "").strip()[:500]
    if len(data.get("reason", "")) > 500:
        form.errors.append("Keep the reason under 500 characters.")
    if "\x00" in form.reason:
        # PostgreSQL cannot store it; nobody types it on purpose.
        form.errors.append("Remove the invisible NUL character from the reason.")
    by_line = {row.line.pk: row for row in form.rows}
    for name in data:
        if name.startswith("amount_"):
            suffix = name.removeprefix("amount_")
            # isdigit() alone also accepts "²", which int() refuses.
            if not (suffix.isascii() and suffix.isdigit()) or int(suffix) not in by_line:
                form.errors.append("One of the amounts is for a product not on this order.")
    for row in form.rows:
        row.value = data.get(row.field, "").strip()[:30]
        row.remove_access = data.get(row.access_field) == "on"
        try:
            amount = parse_major(row.value, form.order.currency)
        except AmountError as error:
            row.error = str(error)
            continue
        if amount > row.max_minor:
            row.error = (
                f"At most {format_money(row.max_minor, form.order.currency)} can be refunded"
                " for this product."
            )
        form.amounts[row.line.pk] = amount
        row.is_full = row.can_remove_access and amount == row.max_minor
        if row.remove_access and row.is_full:
            form.remove_access_line_ids.append(row.line.pk)
        row.remove_access = row.remove_access and row.is_full
    if not form.has_errors and sum(form.amounts.values()) == 0:
        form.errors.append("Enter an amount to refund for at least one product.")
    return form
