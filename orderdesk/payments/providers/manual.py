"""Invoice, bank transfer and anything else without an API: nothing to call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderdesk.payments.providers.base import (
    InvalidNotification,
    PaymentProvider,
    PaymentStart,
    ProviderError,
    ProviderEvent,
    RefundResult,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orderdesk.payments.models import PaymentAttempt, Refund

NO_API = "This payment method cannot be refunded automatically: refund it in the provider's own dashboard"


class Manual(PaymentProvider):
    name = "manual"
    full_refund = False
    partial_refund = False

    def start_payment(self, attempt: PaymentAttempt) -> PaymentStart:
        # The invoice or transfer is settled outside Orderdesk; staff record the result.
        return PaymentStart(provider_reference=attempt.stamp)

    def parse_notification(self, request: HttpRequest) -> ProviderEvent:
        raise InvalidNotification("Manual payments send no notifications")

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        raise ProviderError(NO_API, permanent=True)

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        raise ProviderError(NO_API, permanent=True)
