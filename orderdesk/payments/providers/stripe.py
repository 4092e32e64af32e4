"""Stripe through the official SDK: PaymentIntents, refunds and signed webhooks."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.utils.crypto import constant_time_compare

from orderdesk.payments.providers.base import (
    REFUND_EVENT_KINDS,
    EventKind,
    InvalidNotification,
    PaymentProvider,
    PaymentStart,
    ProviderError,
    ProviderEvent,
    RefundOutcome,
    RefundResult,
    redact,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orderdesk.payments.models import PaymentAttempt, Refund

log = logging.getLogger(__name__)

# The API version the webhook endpoint must be created with (docs/payments.md): the pinned
# SDK's. Card refunds send `refund.*` events only to endpoints on 2024-10-28 or later.
API_VERSION: str = stripe.api_version

# Stripe's own default (stripe.Webhook.DEFAULT_TOLERANCE): older signatures are replays.
SIGNATURE_TOLERANCE_SECONDS = 300
# Metadata keys that tie Stripe objects back to our rows.
ATTEMPT_KEY = "orderdesk_stamp"
REFUND_KEY = "orderdesk_refund"

_KEY_PATTERN = re.compile(r"\b(sk|rk|whsec)_[A-Za-z0-9_]+")

PAYMENT_EVENTS: dict[str, EventKind] = {
    "payment_intent.succeeded": "payment_succeeded",
    "payment_intent.payment_failed": "payment_failed",
    "payment_intent.processing": "payment_processing",
    "payment_intent.canceled": "payment_cancelled",
}
# `charge.refund.updated` is what endpoints on versions before 2024-10-28 get for a card
# refund's status changes; its object is the refund, so it is read like `refund.updated`.
REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
# A dispute's object is the dispute in each of these (docs.stripe.com/api/events/types).
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)
REFUND_STATUSES: dict[str, RefundOutcome] = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}


def verify_signature(payload: bytes, header: str, secret: str, *, now: float | None = None) -> None:
    """Check a `Stripe-Signature` header (v1 HMAC-SHA256 over `t.body`); raise if it fails."""
    if not header or not secret:
        raise InvalidNotification("Missing Stripe-Signature header or webhook secret")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidNotification("Malformed Stripe-Signature timestamp") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidNotification("Stripe-Signature has no timestamp or v1 signature")
    signed = str(timestamp).encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    # constant_time_compare, not hmac.compare_digest: the latter raises on non-ASCII text.
    if not any(constant_time_compare(expected, s) for s in signatures):
        raise InvalidNotification("Stripe signature does not match")
    if timestamp < (now if now is not None else time.time()) - SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidNotification("Stripe signature is too old")


@functools.lru_cache(maxsize=64)
def _client(secret_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    # One client (and connection pool) per account; retries are ours to decide, not the SDK's.
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
    )


class Stripe(PaymentProvider):
    name = "stripe"
    full_refund = True
    partial_refund = True

    def _secret_key(self) -> str:
        key = self.account.secret("secret_key") if self.account else ""
        if not key:
            raise ProviderError("Stripe secret key is not configured", permanent=True)
        return key

    def _client(self) -> stripe.StripeClient:
        return _client(
            self._secret_key(), settings.STRIPE_API_BASE, settings.PROVIDER_TIMEOUT_SECONDS
        )

    def _error(self, error: stripe.StripeError) -> ProviderError:
        status = error.http_status
        # 409 is another request with the same idempotency key still running (Stripe's
        # `idempotency_key_in_use`): the retry gets its answer. A reused key with other
        # parameters is a 400 `idempotency_error`, permanent like any other 400.
        retryable = (
            isinstance(error, stripe.APIConnectionError | stripe.RateLimitError)
            or (isinstance(error, stripe.APIError) and (status or 500) >= 500)
            or status == 409
        )
        message = error.user_message or str(error) or type(error).__name__
        if isinstance(error, stripe.APIConnectionError):
            message = "Stripe did not answer in time or could not be reached"
        message = _KEY_PATTERN.sub("[redacted]", redact(message, self._secret_key()))
        return ProviderError(
            f"Stripe: {message}", permanent=not retryable, http_status=error.http_status
        )

    def start_payment(self, attempt: PaymentAttempt) -> PaymentStart:
        params: dict[str, Any] = {
            "amount": attempt.amount_minor,
            "currency": attempt.currency.lower(),
            "metadata": {
                ATTEMPT_KEY: attempt.stamp,
                "orderdesk_checkout": str(self.checkout.pk),
                "order_number": str(attempt.order.number),
            },
            "automatic_payment_methods": {"enabled": "true"},
        }
        if attempt.order.customer_email:
            params["receipt_email"] = attempt.order.customer_email
        try:
            intent = self._client().v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"pi-{attempt.stamp}"},
            )
        except stripe.StripeError as error:
            raise self._error(error) from error
        redirect_url = ""
        next_action = getattr(intent, "next_action", None)
        if next_action is not None and getattr(next_action, "type", "") == "redirect_to_url":
            redirect_url = next_action.redirect_to_url.url or ""
        return PaymentStart(
            provider_reference=intent.id,
            client_secret=_optional(intent, "client_secret"),
            redirect_url=redirect_url,
        )

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        try:
            result = self._client().v1.refunds.create(
                params={
                    "payment_intent": attempt.provider_reference,
                    "amount": refund.amount_minor,
                    "metadata": {REFUND_KEY: refund.idempotency_key},
                },
                options={"idempotency_key": refund.idempotency_key},
            )
        except stripe.StripeError as error:
            raise self._error(error) from error
        return _refund_result(result)

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        try:
            if refund.provider_reference:
                found = self._client().v1.refunds.retrieve(refund.provider_reference)
            else:
                # A timed-out create may still have made the refund: find it by our key.
                listing = self._client().v1.refunds.list(
                    params={"payment_intent": attempt.provider_reference, "limit": 100}
                )
                matches = [
                    r
                    for r in listing.data
                    if _metadata(r).get(REFUND_KEY) == refund.idempotency_key
                ]
                if not matches:
                    return RefundResult(
                        status="failed", message="Stripe has no refund for this request"
                    )
                found = matches[0]
        except stripe.StripeError as error:
            raise self._error(error) from error
        return _refund_result(found)

    def can_check_refund(self, refund: Refund) -> bool:
        # Retrieved by its id, or found by our key among the payment's refunds.
        return True

    def parse_notification(self, request: HttpRequest) -> ProviderEvent:
        secret = self.account.secret("webhook_secret") if self.account else ""
        verify_signature(request.body, request.headers.get("Stripe-Signature", ""), secret)
        return parse_event(request.body)


def _optional(obj: stripe.StripeObject, name: str) -> str:
    """A field Stripe may leave out of an object (`failure_reason` of a refund that has not
    failed, `pending_reason` of one not pending): the SDK raises AttributeError for a missing
    field, so it is read with a default. Empty when missing or null."""
    value = getattr(obj, name, None)
    return value if isinstance(value, str) else ""


def _refund_result(refund: stripe.Refund) -> RefundResult:
    status = _optional(refund, "status")
    failure_reason = _optional(refund, "failure_reason")
    outcome = REFUND_STATUSES.get(status, "pending")
    message = f"Stripe refund {status}" + (f": {failure_reason}" if failure_reason else "")
    return RefundResult(status=outcome, provider_reference=refund.id, message=message)


def parse_event(payload: bytes) -> ProviderEvent:
    """The ProviderEvent of a verified Stripe event body."""
    try:
        event = json.loads(payload)
        event_id = str(event["id"])
        event_type = str(event["type"])
        obj = event["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError("data.object is not an object")
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidNotification(f"Malformed Stripe event: {error}") from None
    version = event.get("api_version")
    if version and version != API_VERSION:
        # Handled, not refused: the fields read here are the same in every version since
        # 2022-11-15, and a refused event would be retried for three days and then lost.
        # What differs is which events Stripe sends: the operator must fix the endpoint.
        log.warning(
            "Stripe event %s (%s) has API version %s; the webhook endpoint should use %s "
            "(docs/payments.md)",
            event_id,
            event_type,
            version,
            API_VERSION,
        )
    metadata = _field(obj, "metadata", dict)
    currency = str(obj.get("currency") or "").upper() or None
    common: dict[str, Any] = {"event_id": event_id, "type": event_type, "payload": event}
    if event_type in PAYMENT_EVENTS:
        last_error = _field(obj, "last_payment_error", dict)
        methods = _field(obj, "payment_method_types", list)
        return ProviderEvent(
            kind=PAYMENT_EVENTS[event_type],
            payment_reference=str(obj.get("id", "")),
            charge_reference=_charge_id(obj.get("latest_charge")),
            stamp=str(metadata.get(ATTEMPT_KEY, "")),
            amount_minor=_int(obj.get("amount_received") or obj.get("amount")),
            currency=currency,
            method=str(methods[0]) if methods else "",
            message=str(last_error.get("message", "")),
            **common,
        )
    if event_type in REFUND_EVENTS:
        status = str(obj.get("status", ""))
        outcome = REFUND_STATUSES.get(status, "pending")
        kind = REFUND_EVENT_KINDS[outcome]
        return ProviderEvent(
            kind=kind,
            payment_reference=str(obj.get("payment_intent") or ""),
            refund_reference=str(obj.get("id", "")),
            refund_key=str(metadata.get(REFUND_KEY, "")),
            amount_minor=_int(obj.get("amount")),
            currency=currency,
            message=str(obj.get("failure_reason") or ""),
            **common,
        )
    if event_type in DISPUTE_EVENTS:
        evidence = _field(obj, "evidence_details", dict)
        return ProviderEvent(
            kind="dispute",
            payment_reference=str(obj.get("payment_intent") or ""),
            charge_reference=_charge_id(obj.get("charge")),
            dispute_reference=str(obj.get("id", "")),
            dispute_status=str(obj.get("status") or ""),
            dispute_reason=str(obj.get("reason") or ""),
            evidence_due_by=_int(evidence.get("due_by")),
            occurred_at=_int(event.get("created")),
            amount_minor=_int(obj.get("amount")),
            currency=currency,
            **common,
        )
    if event_type == "charge.refunded":
        return ProviderEvent(
            kind="payment_refunded",
            payment_reference=str(obj.get("payment_intent") or ""),
            amount_minor=_int(obj.get("amount_refunded")),
            currency=currency,
            **common,
        )
    return ProviderEvent(kind="ignored", **common)


def _metadata(obj: stripe.StripeObject) -> dict[str, Any]:
    metadata = getattr(obj, "metadata", None)
    return metadata.to_dict() if isinstance(metadata, stripe.StripeObject) else {}


def _charge_id(latest_charge: Any) -> str:
    """A PaymentIntent's `latest_charge`: an id, or the charge itself when expanded."""
    if isinstance(latest_charge, dict):
        latest_charge = latest_charge.get("id")
    return latest_charge if isinstance(latest_charge, str) else ""


def _field[T: (dict[str, Any], list[Any])](obj: dict[str, Any], key: str, kind: type[T]) -> T:
    """`obj[key]` when it has the shape Stripe documents, empty when missing or null."""
    value = obj.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InvalidNotification(f"Malformed Stripe event: {key} is not a {kind.__name__}")
    return value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
