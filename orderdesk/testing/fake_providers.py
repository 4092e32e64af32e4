from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import PaymentAttempt, Refund
from orderdesk.payments.providers.base import PaymentProvider, RefundResult
from orderdesk.payments.providers.manual import Manual
from orderdesk.payments.refunds import plan


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
    # Whether refund_status can be asked (False: staff confirm a pending refund instead).
    checkable: bool = True

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

    def can_check_refund(self, refund: Refund) -> bool:
        return self.checkable


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

    monkeypatch.setattr(plan, "get_provider", get_provider)
    return both


@pytest.fixture
def fake(fakes: Fakes) -> FakeProvider:
    return fakes.stripe
