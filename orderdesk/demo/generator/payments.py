"""How a generated order is paid: the provider and method, a failed first try, the paying attempt."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import uuid
from collections.abc import Sequence
from typing import Any

from orderdesk.demo.bulk import BulkWriter
from orderdesk.demo.generator.draft import OrderDraft
from orderdesk.demo.generator.tables import Row
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActorType, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, Provider

S = OrderStatus

# (provider, weight) per currency; Paytrail and Epassi take euros only.
PROVIDERS = {
    "EUR": ((Provider.STRIPE, 45), (Provider.PAYTRAIL, 36), (Provider.EPASSI, 8), (Provider.MANUAL, 11)),
    "OTHER": ((Provider.STRIPE, 88), (Provider.MANUAL, 12)),
}  # fmt: skip
METHODS = {
    Provider.STRIPE: (("card", 55), ("apple_pay", 24), ("google_pay", 10), ("mobilepay", 8), ("klarna", 3)),
    Provider.PAYTRAIL: (
        ("osuuspankki", 28), ("nordea", 22), ("mobilepay", 14), ("danske", 7), ("card", 7),
        ("spankki", 5), ("aktia", 5), ("pop", 4), ("saastopankki", 3), ("siirto", 3), ("walleyb2c", 2),
    ),
    Provider.EPASSI: (("epassi", 1),),
    Provider.MANUAL: (("invoice", 8), ("bank_transfer", 2)),
}  # fmt: skip
PAYMENT_FAILURES: dict[str, tuple[str, ...]] = {
    Provider.STRIPE: (
        "Your card was declined.",
        "Your card has insufficient funds.",
        "Your card's security code is incorrect.",
        "The customer did not complete 3D Secure authentication.",
    ),
    Provider.PAYTRAIL: ("Payment cancelled by the customer.", "The bank rejected the payment."),
    Provider.EPASSI: ("Insufficient Epassi benefit balance.", "Payment cancelled in Epassi."),
    Provider.MANUAL: ("Invoice cancelled: no payment by the due date.",),
}
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(B62[digit])
    return "".join(chars)


@functools.cache
def _cumulative(weighted: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [value for value, _ in weighted], list(itertools.accumulate(w for _, w in weighted))


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    values, cumulative = _cumulative(weighted)
    return rng.choices(values, cum_weights=cumulative)[0]


def _provider_and_method(rng: random.Random, currency: str) -> tuple[str, str]:
    provider = _pick(rng, PROVIDERS["EUR" if currency == "EUR" else "OTHER"])
    return provider, _pick(rng, METHODS[provider])


class Payments:
    """Draws an order's payment attempts; ids come from the writer, times never pass `now`."""

    def __init__(self, rng: random.Random, writer: BulkWriter, now: dt.datetime) -> None:
        self.rng = rng
        self.writer = writer
        self.now = now

    def pay(self, order: OrderDraft, at: dt.datetime) -> None:
        """Pay as far as the order's status says, starting at `at`; sets its provider and paid_at.

        An order meant to be paid whose payment would land after `now` is still processing.
        """
        rng = self.rng
        provider, method = _provider_and_method(rng, order.currency)
        paid = order.status in S.WAS_PAID
        if (paid and rng.random() < 0.08) or (
            order.status == S.IN_PROGRESS and rng.random() < 0.35
        ):
            self._fail(order, provider, method, at)
            at = at + dt.timedelta(seconds=rng.randint(60, 240))
            if rng.random() < 0.5:
                provider, method = _provider_and_method(rng, order.currency)
        order.provider, order.method = provider, method
        paid_at = at + dt.timedelta(seconds=rng.randint(5, 60)) if paid else None
        if paid_at is not None and paid_at > self.now:
            order.status, paid, paid_at = S.PROCESSING, False, None
        order.paid_at = paid_at
        if order.status in (S.PROCESSING, *S.WAS_PAID):
            status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING
            order.attempts.append(self._attempt(order, provider, method, status, at, "", paid_at))
            order.event(
                at,
                EventType.PAYMENT_STARTED,
                f"Payment started: {Provider(provider).label} {method}",
                ActorType.CUSTOMER,
                "Customer",
                '{"from": "in_progress", "to": "processing"}',
            )
        if paid_at is not None:
            order.event(
                paid_at,
                EventType.PAYMENT_SUCCEEDED,
                "Payment succeeded",
                ActorType.PROVIDER,
                str(Provider(provider).label),
                '{"from": "processing", "to": "paid"}',
            )

    def _fail(self, order: OrderDraft, provider: str, method: str, at: dt.datetime) -> None:
        """A first attempt the provider declined or the customer cancelled."""
        rng = self.rng
        status = PaymentStatus.FAILED if rng.random() < 0.7 else PaymentStatus.CANCELLED
        message = rng.choice(PAYMENT_FAILURES[provider])
        order.attempts.append(self._attempt(order, provider, method, status, at, message))
        order.event(
            at,
            EventType.PAYMENT_STARTED,
            f"Payment started: {Provider(provider).label} {method}",
            ActorType.CUSTOMER,
            "Customer",
        )
        order.event(
            at + dt.timedelta(seconds=25),
            EventType.PAYMENT_FAILED,
            message,
            ActorType.PROVIDER,
            str(Provider(provider).label),
            '{"from": "processing", "to": "in_progress"}',
        )

    def _attempt(
        self,
        order: OrderDraft,
        provider: str,
        method: str,
        status: str,
        at: dt.datetime,
        failure: str,
        succeeded_at: dt.datetime | None = None,
    ) -> Row:
        """An attempt to pay the order's total."""
        attempt_id = self.writer.new_id(PaymentAttempt)
        stamp = str(uuid.UUID(int=(self.rng.getrandbits(80) << 48) | attempt_id))
        if (
            status in (PaymentStatus.PENDING, PaymentStatus.CANCELLED)
            and provider == Provider.MANUAL
        ):
            reference = ""
        elif provider == Provider.STRIPE:
            reference = f"pi_3{b62(self.rng.getrandbits(64), 11)}{b62(attempt_id, 6)}"
        elif provider == Provider.PAYTRAIL:
            reference = str(uuid.UUID(int=(self.rng.getrandbits(88) << 40) | attempt_id))
        elif provider == Provider.EPASSI:
            reference = str(40_000_000 + attempt_id)
        else:
            reference = f"INV-{at.year}-{attempt_id:07d}"
        updated = succeeded_at or at + dt.timedelta(seconds=25)
        return [
            attempt_id, order.id, provider, method, status, order.quote.total_minor,
            order.currency, 0, stamp, reference, failure, at, min(updated, self.now),
            succeeded_at,
        ]  # fmt: skip
