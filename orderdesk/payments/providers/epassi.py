"""Epassi benefit payments: the signed payment form, its return, and full refunds.

No official Epassi specification was available (see providers.md §3); the form and MAC follow
the two maintained public integrations, and the refund call is an assumption stated below.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from orderdesk.payments.providers import http
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


def mac(*values: str) -> str:
    """Epassi's MAC: plain SHA-512 of the values joined by `&`, the key last."""
    return hashlib.sha512("&".join(values).encode()).hexdigest()


def euros(amount_minor: int) -> str:
    """`1250` → `"12.50"`, the AMOUNT format Epassi expects."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def return_token(stamp: str) -> str:
    """Our own signature on the reject/cancel URLs, which Epassi calls without a MAC."""
    return salted_hmac("orderdesk.epassi.return", stamp, algorithm="sha256").hexdigest()[:32]


class Epassi(PaymentProvider):
    name = "epassi"
    full_refund = True
    partial_refund = False

    @property
    def _site(self) -> tuple[str, str]:
        return self._credentials("Epassi site or MAC key is not configured")

    @property
    def has_refund_interface(self) -> bool:
        """Whether the merchant has Epassi's refund interface (given under contract; the
        default, as the seed has it). Without it staff cancel purchases in Epassi's service."""
        return not (self.account and self.account.epassi_no_refund_interface)

    def can_refund(self, *, partial: bool) -> bool:
        return self.has_refund_interface and super().can_refund(partial=partial)

    def start_payment(self, attempt: PaymentAttempt) -> PaymentStart:
        if attempt.currency != "EUR":
            raise ProviderError("Epassi accepts only euros", permanent=True)
        site, key = self._site
        amount = euros(attempt.amount_minor)
        token = return_token(attempt.stamp)
        fields = {
            "STAMP": attempt.stamp,
            "SITE": site,
            "AMOUNT": amount,
            "RETURN": self.url("epassi-return"),
            "REJECT": self.url("epassi-reject", attempt.stamp, token),
            "CANCEL": self.url("epassi-cancel", attempt.stamp, token),
            "MAC": mac(attempt.stamp, site, amount, key),
        }
        return PaymentStart(
            provider_reference=attempt.stamp,
            form_action=f"{settings.EPASSI_API_BASE.rstrip('/')}/e_payments/v2",
            form_fields=fields,
        )

    def parse_notification(self, request: HttpRequest) -> ProviderEvent:
        """The customer's browser POSTs STAMP, PAID and MAC = sha512(STAMP&PAID&KEY)."""
        _, key = self._site
        stamp = request.POST.get("STAMP", "")
        paid = request.POST.get("PAID", "")
        given = request.POST.get("MAC", "").lower()
        if not stamp or not paid or not given:
            raise InvalidNotification("Epassi return lacks STAMP, PAID or MAC")
        # constant_time_compare, not hmac.compare_digest: the latter raises on non-ASCII text.
        if not constant_time_compare(mac(stamp, paid, key), given):
            raise InvalidNotification("Epassi MAC does not match")
        return ProviderEvent(
            event_id=f"{stamp}:paid",
            kind="payment_succeeded",
            type="return",
            payment_reference=paid,
            stamp=stamp,
            method="epassi",
            payload={"STAMP": stamp, "PAID": paid},
        )

    def parse_return_without_payment(
        self, request: HttpRequest, *, stamp: str, token: str, outcome: str
    ) -> ProviderEvent:
        """The REJECT or CANCEL redirect, verified by the token we put in its URL."""
        if not constant_time_compare(return_token(stamp), token):
            raise InvalidNotification("Epassi return link is not valid")
        error = request.GET.get("error", "")[:100]
        return ProviderEvent(
            event_id=f"{stamp}:{outcome}",
            kind="payment_cancelled" if outcome == "cancel" else "payment_failed",
            type=outcome,
            stamp=stamp,
            message=f"Epassi: {error}" if error else f"Epassi payment {outcome}ed",
            payload={"stamp": stamp, "error": error},
        )

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        """Cancel the whole payment.

        Assumed shape, to check against Epassi's merchant documentation: a server-to-server
        `POST {EPASSI_API_BASE}/cancel` with form fields STAMP, SITE, AMOUNT (the full paid
        amount) and MAC = sha512(STAMP&SITE&AMOUNT&KEY), answered with JSON
        `{"status": "ok"|"error", "message": ...}`.
        """
        if not self.has_refund_interface:
            raise ProviderError(
                "This merchant has no Epassi refund interface: cancel the purchase in Epassi's"
                " own service",
                permanent=True,
            )
        if attempt.refunded_minor or refund.amount_minor != attempt.amount_minor:
            raise ProviderError(
                "Epassi supports only full refunds: return the money in Epassi's own service",
                permanent=True,
            )
        site, key = self._site
        amount = euros(attempt.amount_minor)
        _, data = http.call(
            "Epassi",
            "POST",
            f"{settings.EPASSI_API_BASE.rstrip('/')}/cancel",
            secret=key,
            data={
                "STAMP": attempt.stamp,
                "SITE": site,
                "AMOUNT": amount,
                "MAC": mac(attempt.stamp, site, amount, key),
            },
        )
        if data.get("status") != "ok":
            message = str(data.get("message", ""))
            return RefundResult(status="failed", message=f"Epassi: {message or 'refused'}")
        return RefundResult(
            status="succeeded", provider_reference=attempt.stamp, message="Epassi payment cancelled"
        )

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        raise ProviderError(
            "Epassi has no status query: check the payment in Epassi's own service",
            permanent=True,
        )
