"""The shape every payment provider adapter has.

An adapter verifies and parses the provider's notifications, starts payments and refunds.
Adapters return the dataclasses below, never SDK objects, and raise only ProviderError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django.conf import settings
from django.urls import reverse

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orderdesk.organizations.models import Checkout
    from orderdesk.payments.models import PaymentAttempt, ProviderAccount, Refund


class ProviderError(Exception):
    """A provider call failed. Permanent errors (4xx) will fail again; others may be retried."""

    def __init__(self, message: str, *, permanent: bool, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.http_status = http_status


class InvalidNotification(Exception):
    """A notification whose signature or body could not be verified; answered with 400."""


EventKind = Literal[
    "payment_succeeded",
    "payment_failed",
    "payment_processing",
    "payment_cancelled",
    "refund_succeeded",
    "refund_pending",
    "refund_failed",
    "payment_refunded",  # the provider's running refunded total for a payment (amount_minor)
    "dispute",  # a cardholder's dispute was opened, changed, closed, or moved funds
    "ignored",
]


@dataclass(frozen=True)
class ProviderEvent:
    """A verified notification, reduced to what Orderdesk acts on."""

    event_id: str  # unique per provider: replays carry the same id
    kind: EventKind
    type: str  # the provider's own event name, for the record
    payment_reference: str = ""  # PaymentIntent id, Paytrail transactionId, Epassi STAMP
    charge_reference: str = ""  # Stripe's charge id (ch_…) of a PaymentIntent that succeeded
    stamp: str = ""  # our attempt stamp, when the provider echoes it
    amount_minor: int | None = None
    currency: str | None = None
    method: str = ""
    refund_reference: str = ""
    refund_key: str = ""  # our refund idempotency key, when echoed
    dispute_reference: str = ""  # Stripe's dp_…
    dispute_status: str = ""
    dispute_reason: str = ""
    evidence_due_by: int | None = None  # Unix time
    occurred_at: int | None = None  # when the provider made the event (Unix time), for order
    message: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every event is stored (ProviderNotification), and PostgreSQL refuses NUL in text and
        # JSON, lone surrogates and non-finite numbers: refused here, a signed but unstorable body is a 400,
        # not a 500 that the provider retries forever.
        values = [getattr(self, f.name) for f in fields(self)]
        if not all(_storable(value) for value in values):
            raise InvalidNotification("Notification has values that cannot be stored (NUL, NaN)")


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, float):
        # Python's json reads NaN, Infinity and 1e999; JSON columns refuse them.
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


@dataclass(frozen=True)
class PaymentStart:
    """How the customer continues: a redirect, a form to post, or a client secret."""

    provider_reference: str = ""
    redirect_url: str = ""
    form_action: str = ""
    form_fields: dict[str, str] = field(default_factory=dict)
    client_secret: str = ""


RefundOutcome = Literal["succeeded", "pending", "failed"]


REFUND_EVENT_KINDS: dict[RefundOutcome, EventKind] = {
    "succeeded": "refund_succeeded",
    "pending": "refund_pending",
    "failed": "refund_failed",
}


@dataclass(frozen=True)
class RefundResult:
    status: RefundOutcome
    provider_reference: str = ""
    message: str = ""


class PaymentProvider:
    """Base class of the adapters; one subclass per provider in this package.

    An adapter is built for one checkout and its account at the provider (`get_provider`);
    the account is None only for providers without credentials (manual).
    """

    name: ClassVar[str]
    full_refund: ClassVar[bool] = False
    partial_refund: ClassVar[bool] = False

    def __init__(self, checkout: Checkout, account: ProviderAccount | None) -> None:
        self.checkout = checkout
        self.account = account

    def _credentials(self, missing: str) -> tuple[str, str]:
        """The account id and secret key at the provider; ProviderError(`missing`) without."""
        account_id = self.account.account_id if self.account else ""
        secret = self.account.secret("secret_key") if self.account else ""
        if not account_id or not secret:
            raise ProviderError(missing, permanent=True)
        return account_id, secret

    def can_refund(self, *, partial: bool) -> bool:
        return self.partial_refund if partial else self.full_refund

    def start_payment(self, attempt: PaymentAttempt) -> PaymentStart:
        """Create the payment at the provider; tell how the customer continues."""
        raise NotImplementedError(f"{type(self).__name__} must implement start_payment()")

    def parse_notification(self, request: HttpRequest) -> ProviderEvent:
        """Verify the request's signature and parse it; raise InvalidNotification if it fails."""
        raise NotImplementedError(f"{type(self).__name__} must implement parse_notification()")

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        """Ask the provider to return `refund.amount_minor` of the attempt.

        `refund.idempotency_key` goes to the provider, so calling this twice for one refund
        row never moves money twice.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement refund()")

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        """Ask the provider what became of a refund left pending (e.g. after a timeout)."""
        raise NotImplementedError(f"{type(self).__name__} must implement refund_status()")

    def can_check_refund(self, refund: Refund) -> bool:
        """Whether `refund_status` can tell what became of this refund.

        Where it cannot (no status API, or nothing to ask about), a pending refund is settled
        by staff confirming what they saw in the provider's own service.
        """
        return False

    def url(self, name: str, *args: object) -> str:
        """Absolute URL of one of this checkout's notification endpoints (payments/urls.py)."""
        path = reverse(f"payments:{name}", args=[self.checkout.pk, *args])
        return f"{settings.SITE_URL.rstrip('/')}{path}"


def redact(message: str, *secrets: str) -> str:
    """`message` without any of `secrets` in it, for errors shown to staff or logged."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted]")
    return message
