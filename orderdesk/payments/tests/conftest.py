from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from django.utils import timezone

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments import refunds
from orderdesk.payments.models import PaymentAttempt, Refund
from orderdesk.payments.providers.base import PaymentProvider, PaymentStart, RefundResult
from orderdesk.payments.providers.manual import Manual
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.sandbox.accounts import install_sandbox_accounts
from orderdesk.testing import factories
from orderdesk.testing.factories import World


@dataclass
class FakeProvider(PaymentProvider):
    """Answers refunds with whatever the test scripted; remembers every call."""

    name: ClassVar[str] = "fake"
    full_refund: ClassVar[bool] = True
    partial_refund: ClassVar[bool] = True
    answer: RefundResult | Exception = field(
        default_factory=lambda: RefundResult("succeeded", provider_reference="re_1")
    )
    status_answer: RefundResult | Exception = field(
        default_factory=lambda: RefundResult("succeeded", provider_reference="re_1")
    )
    calls: list[str] = field(default_factory=list)
    status_calls: list[str] = field(default_factory=list)

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        self.calls.append(refund.idempotency_key)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        self.status_calls.append(refund.idempotency_key)
        if isinstance(self.status_answer, Exception):
            raise self.status_answer
        return self.status_answer


class FullOnly(FakeProvider):
    partial_refund: ClassVar[bool] = False


@dataclass
class Fakes:
    stripe: FakeProvider  # also serves Paytrail
    epassi: FullOnly


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """In-memory adapters: Stripe and Paytrail refund anything, Epassi refunds in full only."""
    both = Fakes(stripe=FakeProvider(), epassi=FullOnly())

    def get_provider(name: str, checkout: Checkout) -> PaymentProvider:
        if name == "manual":
            return Manual(checkout, None)
        return both.epassi if name == "epassi" else both.stripe

    monkeypatch.setattr(refunds, "get_provider", get_provider)
    return both


@pytest.fixture
def fake(fakes: Fakes) -> FakeProvider:
    return fakes.stripe


@pytest.fixture
def sandboxed(transactional_db: None, live_server: Any, settings: Any) -> World:
    """The world with its checkout's adapters pointed at the sandboxes on a live server."""
    settings.SITE_URL = live_server.url
    settings.STRIPE_API_BASE = f"{live_server.url}/sandbox/stripe"
    settings.PAYTRAIL_API_BASE = f"{live_server.url}/sandbox/paytrail"
    settings.EPASSI_API_BASE = f"{live_server.url}/sandbox/epassi"
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    world = factories.world()
    install_sandbox_accounts(world.checkout)
    return world


def begin_payment(
    world: World, provider: str, method: str = "card"
) -> tuple[Order, PaymentAttempt, PaymentStart, PaymentProvider]:
    """An order whose customer has just been handed to the provider."""
    order = factories.order(world, status=OrderStatus.IN_PROGRESS)
    attempt = PaymentAttempt.objects.create(
        order=order,
        provider=provider,
        method=method,
        amount_minor=order.total_minor,
        currency=order.currency,
        stamp=uuid.uuid4().hex,
        created_at=timezone.now(),
    )
    adapter = get_provider(provider, world.checkout)
    start = adapter.start_payment(attempt)
    attempt.provider_reference = start.provider_reference
    attempt.save(update_fields=["provider_reference"])
    transitions.start_processing(order, actor=Actor.customer())
    return order, attempt, start, adapter


def refund_row(attempt: PaymentAttempt, amount_minor: int) -> Refund:
    return Refund.objects.create(
        order=attempt.order,
        payment_attempt=attempt,
        amount_minor=amount_minor,
        currency=attempt.currency,
        idempotency_key=f"refund-{uuid.uuid4().hex}",
    )
