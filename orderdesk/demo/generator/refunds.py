"""Refunds of generated orders: what staff asked for, then the money booked back line by line."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

from orderdesk.demo.bulk import BulkWriter
from orderdesk.demo.generator.draft import OrderDraft, PlannedRefund
from orderdesk.demo.generator.payments import b62
from orderdesk.demo.generator.sales import Staff
from orderdesk.demo.generator.tables import (
    ATTEMPT_AMOUNT,
    ATTEMPT_ID,
    ATTEMPT_REFUNDED,
    ATTEMPT_STATUS,
    LINE_ID,
    LINE_REFUNDED,
    LINE_TOTAL,
    LINE_VAT,
    Row,
)
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActorType, OrderStatus
from orderdesk.orders.pricing import Quote, refund_line_vat
from orderdesk.payments.models import (
    PaymentStatus,
    Provider,
    Refund,
    RefundSettlement,
    RefundStatus,
)

MINUTE = dt.timedelta(minutes=1)
REFUND_FAILURES: dict[str, tuple[str, ...]] = {
    Provider.STRIPE: (
        "Charge ch_3QX is disputed: a refund cannot be created while the dispute is open.",
        "Request to Stripe timed out after 15 s",
    ),
    Provider.PAYTRAIL: (
        "400 Something went wrong",
        "Nordea API allows to refund only once per payment, and only for payments created "
        "less than 13 weeks ago.",
    ),
    Provider.EPASSI: ('{"status": "error", "message": "Payment already settled"}',),
}
# The event a booked refund writes, by the refund's final status.
EVENTS = {
    RefundStatus.SUCCEEDED: (EventType.REFUND_SUCCEEDED, "Refund succeeded"),
    RefundStatus.RECORDED: (EventType.REFUND_RECORDED, "Refund recorded"),
    RefundStatus.FAILED: (EventType.REFUND_FAILED, "Refund failed"),
    RefundStatus.REVERSED: (EventType.REFUND_SUCCEEDED, "Refund succeeded"),
}


def refund_all(
    rng: random.Random,
    quote: Quote,
    staff: Staff,
    paid_at: dt.datetime,
    at: dt.datetime,
    *,
    reversed_at: dt.datetime | None = None,
) -> PlannedRefund:
    """Every line back; with `reversed_at`, staff restored the order hours before that."""
    remove = rng.random() < 0.5
    by = staff[rng.randrange(len(staff))]
    reason = rng.choice(
        ("Customer changed their mind", "Bought by mistake", "Duplicate purchase", "")
    )
    if reversed_at is not None:
        at = max(paid_at + MINUTE, reversed_at - dt.timedelta(hours=rng.randint(1, 48)))
    return PlannedRefund(
        status=RefundStatus.REVERSED if reversed_at else RefundStatus.SUCCEEDED,
        lines=[(i, line.total_minor, remove) for i, line in enumerate(quote.lines) if line.total_minor],
        by=by,
        at=at,
        reason=reason,
        remove_offer_access=remove,
        reversed_at=reversed_at,
    )  # fmt: skip


def refund_part(rng: random.Random, quote: Quote, staff: Staff, at: dt.datetime) -> PlannedRefund:
    """One add-on back, or a share of the biggest line; never the whole order."""
    extras = [
        i for i, line in enumerate(quote.lines) if line.input.kind != "main" and line.total_minor
    ]
    if extras and rng.random() < 0.7:
        index = rng.choice(extras)
        lines = [(index, quote.lines[index].total_minor, rng.random() < 0.5)]
    else:
        index = max(range(len(quote.lines)), key=lambda i: quote.lines[i].total_minor)
        share = rng.choice((0.2, 0.25, 0.5))
        lines = [(index, max(1, int(quote.lines[index].total_minor * share)), False)]
    if sum(amount for _, amount, _ in lines) >= quote.total_minor:
        lines = [(lines[0][0], max(1, quote.total_minor // 2), False)]
    by = staff[rng.randrange(len(staff))]
    reason = rng.choice(("Partial refund agreed with customer", "Add-on not used", ""))
    return PlannedRefund(RefundStatus.SUCCEEDED, lines, by, at, reason)


def failed_refund(
    rng: random.Random, order: OrderDraft, paid_at: dt.datetime, at: dt.datetime
) -> PlannedRefund:
    """A full refund the provider refused."""
    refund = refund_all(rng, order.quote, order.staff, paid_at, at)
    refund.status = RefundStatus.FAILED
    refund.failure_message = rng.choice(REFUND_FAILURES[order.provider])
    return refund


class Booking:
    """Books planned refunds: their rows, their events, and the money on lines and payment."""

    def __init__(self, rng: random.Random, writer: BulkWriter) -> None:
        self.rng = rng
        self.writer = writer

    def book(self, order: OrderDraft) -> None:
        refunded_lines = [0] * len(order.lines)
        for refund in order.refunds:
            refund_id = self.writer.new_id(Refund)
            kept = refund.status in RefundStatus.BOOKED
            amount = 0
            for index, line_amount, remove_access in refund.lines:
                line = order.lines[index]
                # Stamped as booking stamps it; a refund never booked has none.
                vat = (
                    refund_line_vat(
                        line[LINE_VAT], line[LINE_TOTAL], refunded_lines[index], line_amount
                    )
                    if kept
                    else None
                )
                order.refund_line_rows.append(
                    (refund_id, line[LINE_ID], line_amount, vat, remove_access)
                )
                amount += line_amount
                if kept:
                    refunded_lines[index] += line_amount
            if kept:
                order.refunded_total += amount
            self._refund_row(order, refund, refund_id, amount)
        if order.refunded_total:
            order.status = (
                OrderStatus.REFUNDED
                if order.refunded_total == order.quote.total_minor
                else OrderStatus.PARTIALLY_REFUNDED
            )
            paying = self._paying(order)
            if paying is not None:
                paying[ATTEMPT_STATUS] = (
                    PaymentStatus.REFUNDED
                    if order.refunded_total == paying[ATTEMPT_AMOUNT]
                    else PaymentStatus.PARTIALLY_REFUNDED
                )
                paying[ATTEMPT_REFUNDED] = order.refunded_total
        for row, refunded in zip(order.lines, refunded_lines, strict=True):
            row[LINE_REFUNDED] = refunded

    @staticmethod
    def _paying(order: OrderDraft) -> Row | None:
        """The attempt that took the money: the last one, when the order was paid."""
        return order.attempts[-1] if order.attempts and order.paid_at is not None else None

    def _refund_row(
        self, order: OrderDraft, refund: PlannedRefund, refund_id: int, amount: int
    ) -> None:
        """The refund's row and events; the route it took is drawn here (SPEC F5)."""
        status = refund.status
        if status == RefundStatus.FAILED:
            via_provider, reason, settlement = True, "", RefundSettlement.PROVIDER
        else:
            full = amount == order.quote.total_minor
            via_provider, reason, settlement = self._channel(order.provider, full=full)
        if status == RefundStatus.SUCCEEDED and not via_provider:
            status = RefundStatus.RECORDED
        reference = ""
        if status == RefundStatus.SUCCEEDED or (status == RefundStatus.REVERSED and via_provider):
            reference = self._reference(order.provider, refund_id)
        paying = self._paying(order)
        user_id = refund.by[0]
        at = refund.at
        order.refund_rows.append(
            (
                refund_id, order.id, paying[ATTEMPT_ID] if paying else None, status, "orderdesk", amount,
                order.currency, via_provider, settlement, refund.reason,
                "" if status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED) else reason,
                f"refund-{refund_id}", reference, refund.failure_message,
                refund.remove_offer_access, user_id, at,
                None if status == RefundStatus.FAILED else at + dt.timedelta(seconds=2),
                refund.reversed_at,
            )
        )  # fmt: skip
        self._events(order, refund, refund_id, status, amount)

    @staticmethod
    def _events(
        order: OrderDraft, refund: PlannedRefund, refund_id: int, status: str, amount: int
    ) -> None:
        user_id, email = refund.by
        event_type, label = EVENTS[RefundStatus(status)]
        message = f"{label}: {amount / 100:.2f} {order.currency}"
        if status == RefundStatus.FAILED:
            message += f" — {refund.failure_message}"
        data = json.dumps({"refund": refund_id, "amount_minor": amount})
        order.event(refund.at, event_type, message, ActorType.USER, email, data, user_id)
        if refund.reversed_at is not None:
            order.event(
                refund.reversed_at,
                EventType.REFUNDS_REVERSED,
                "Refunded data restored",
                ActorType.USER,
                email,
                "{}",
                user_id,
            )
        elif status in RefundStatus.BOOKED:
            to = (
                "refunded"
                if order.refunded_total == order.quote.total_minor
                else "partially_refunded"
            )
            order.event(
                refund.at,
                EventType.STATUS_CHANGED,
                "Refunded" if to == "refunded" else "Partially refunded",
                ActorType.USER,
                email,
                json.dumps({"from": "completed", "to": to, "refunded_minor": order.refunded_total}),
                user_id,
            )

    def _channel(self, provider: str, *, full: bool) -> tuple[bool, str, RefundSettlement]:
        """Whether money moves through the provider, why not when it does not, and how it
        goes back (`Refund.settlement`) (SPEC F5)."""
        elsewhere = RefundSettlement.ELSEWHERE
        if provider == Provider.MANUAL:
            return False, "Manual payments are refunded in the provider's own dashboard.", elsewhere
        if provider == Provider.EPASSI and not full:
            return (
                False,
                "Epassi cannot refund part of a payment through its API: funds were not returned; "
                "return them in Epassi's own service.",
                elsewhere,
            )
        if self.rng.random() < 0.08:
            return (
                False,
                "Refund payments was not selected: recorded only, no money moved.",
                RefundSettlement.UNCHECKED,
            )
        return True, "", RefundSettlement.PROVIDER

    def _reference(self, provider: str, refund_id: int) -> str:
        if provider == Provider.STRIPE:
            return f"re_3{b62(self.rng.getrandbits(64), 11)}{b62(refund_id, 6)}"
        if provider == Provider.PAYTRAIL:
            return str(uuid.UUID(int=(self.rng.getrandbits(88) << 40) | refund_id))
        return f"R{50_000_000 + refund_id}"
