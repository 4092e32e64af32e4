"""Paytrail Payment API over httpx: hosted payments, signed redirects/callbacks, refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.crypto import constant_time_compare

from orderdesk.payments.providers import http
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
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orderdesk.orders.models import OrderLine
    from orderdesk.payments.models import PaymentAttempt, Refund

ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
PAYMENT_STATUSES: dict[str, EventKind] = {
    "ok": "payment_succeeded",
    "fail": "payment_failed",
    "pending": "payment_processing",
    "delayed": "payment_processing",
}
REFUND_STATUSES: dict[str, RefundOutcome] = {
    "ok": "succeeded",
    "pending": "pending",
    "fail": "failed",
}


def _error_message(body: dict[str, Any], reason: str) -> str:
    """Paytrail's error text: its message (else the HTTP reason), then the `meta` details."""
    message = str(body.get("message") or reason)
    meta = body.get("meta")
    if isinstance(meta, list) and meta:
        message += ": " + "; ".join(str(m) for m in meta)
    return message


def _refund_result(data: dict[str, Any], reference: str) -> RefundResult:
    """What Paytrail's answer about refund `reference` says became of it."""
    status = str(data.get("status", ""))
    return RefundResult(
        status=REFUND_STATUSES.get(status, "pending"),
        provider_reference=reference,
        message=f"Paytrail refund {status}",
    )


def calculate_signature(
    params: Mapping[str, str], body: str, secret: str, algorithm: str = "sha256"
) -> str:
    """Paytrail's HMAC: the `checkout-*` entries sorted, `key:value` lines, then the body."""
    digest = ALGORITHMS.get(algorithm)
    if digest is None:
        raise ValueError(f"Unsupported Paytrail algorithm {algorithm!r}")
    lines = [f"{k}:{params[k]}" for k in sorted(k for k in params if k.startswith("checkout-"))]
    payload = "\n".join([*lines, body])
    return hmac.new(secret.encode(), payload.encode(), digest).hexdigest()


def verify_query(params: Mapping[str, str], secret: str, account_id: str) -> None:
    """Check the signature of a redirect or callback query; raise InvalidNotification."""
    signature = params.get("signature", "")
    algorithm = params.get("checkout-algorithm", "")
    if not signature or algorithm not in ALGORITHMS:
        raise InvalidNotification("Paytrail query has no signature or an unknown algorithm")
    expected = calculate_signature(params, "", secret, algorithm)
    # constant_time_compare, not hmac.compare_digest: the latter raises on non-ASCII text.
    if not constant_time_compare(expected, signature):
        raise InvalidNotification("Paytrail signature does not match")
    if params.get("checkout-account") != account_id:
        raise InvalidNotification("Paytrail notification is for another merchant account")


def item_stamp(line: OrderLine) -> str:
    """The stamp a Shop-in-Shop item carries at payment and refund alike."""
    return line.stamp or f"line-{line.pk}"


def item_reference(line: OrderLine) -> str:
    """The reference a Shop-in-Shop item carries at payment and refund alike."""
    return f"{line.order.number}-{line.pk}"


def payment_items(
    lines: Sequence[OrderLine], amount_minor: int, *, shop_in_shop_merchant: str = ""
) -> list[dict[str, Any]] | None:
    """One Paytrail item per order line, when the line totals add up to the paid amount.

    A normal merchant's items carry no `stamp`, `reference` or `merchant`: the OpenAPI
    document's `Item` says to leave them out of normal payments, and its refunds send only
    the amount. A Shop-in-Shop aggregate's items carry all three (its refunds name them).
    """
    if not lines or sum(line.total_minor for line in lines) != amount_minor:
        return None
    items: list[dict[str, Any]] = []
    for line in lines:
        if line.total_minor <= 0:
            continue
        item: dict[str, Any] = {
            "unitPrice": line.total_minor,
            "units": 1,
            "vatPercentage": float(line.vat_rate),
            "productCode": str(line.product_id or line.pk),
            "description": line.name[:1000],
        }
        if shop_in_shop_merchant:
            item.update(
                merchant=shop_in_shop_merchant,
                stamp=item_stamp(line),
                reference=item_reference(line),
            )
        items.append(item)
    return items


class Paytrail(PaymentProvider):
    name = "paytrail"
    full_refund = True
    partial_refund = True

    @property
    def _merchant(self) -> tuple[str, str]:
        return self._credentials("Paytrail merchant id or secret is not configured")

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, transaction_id: str = ""
    ) -> tuple[int, dict[str, Any]]:
        account_id, secret = self._merchant
        headers = {
            "checkout-account": account_id,
            "checkout-algorithm": "sha256",
            "checkout-method": method,
            "checkout-nonce": uuid.uuid4().hex,
            "checkout-timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        if transaction_id:
            headers["checkout-transaction-id"] = transaction_id
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        headers["signature"] = calculate_signature(headers, text, secret)
        if text:
            headers["content-type"] = "application/json; charset=utf-8"
        response, data = http.call(
            "Paytrail",
            method,
            f"{settings.PAYTRAIL_API_BASE.rstrip('/')}{path}",
            secret=secret,
            content=text.encode(),
            headers={**headers, "platform-name": "Orderdesk"},
            describe=_error_message,
        )
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        expected = calculate_signature(
            response_headers,
            response.text,
            secret,
            response_headers.get("checkout-algorithm", "sha256"),
        )
        if not constant_time_compare(expected, response_headers.get("signature", "")):
            raise ProviderError("Paytrail response signature does not match", permanent=False)
        return response.status_code, data

    @property
    def shop_in_shop_merchant(self) -> str:
        """The sub-merchant of a Shop-in-Shop aggregate account; "" for a normal merchant."""
        return self.account.paytrail_shop_in_shop_merchant if self.account else ""

    def _items(self, attempt: PaymentAttempt) -> list[dict[str, Any]] | None:
        return payment_items(
            list(attempt.order.lines.all()),
            attempt.amount_minor,
            shop_in_shop_merchant=self.shop_in_shop_merchant,
        )

    def start_payment(self, attempt: PaymentAttempt) -> PaymentStart:
        if attempt.currency != "EUR":
            raise ProviderError("Paytrail accepts only euros", permanent=True)
        order = attempt.order
        body: dict[str, Any] = {
            "stamp": attempt.stamp,
            "reference": str(order.number),
            "amount": attempt.amount_minor,
            "currency": "EUR",
            "language": "FI" if order.country == "FI" else "EN",
            "customer": {"email": order.customer_email},
            "redirectUrls": {
                "success": self.url("paytrail-success"),
                "cancel": self.url("paytrail-cancel"),
            },
            "callbackUrls": {
                "success": self.url("paytrail-callback-success"),
                "cancel": self.url("paytrail-callback-cancel"),
            },
        }
        items = self._items(attempt)
        if items:
            body["items"] = items
        elif self.shop_in_shop_merchant:
            # README "Item": items are "always required for Shop-in-Shop payments".
            raise ProviderError(
                "Paytrail Shop-in-Shop payments need items that add up to the amount",
                permanent=True,
            )
        _, data = self._request("POST", "/payments", body)
        transaction_id = str(data.get("transactionId", ""))
        for provider in data.get("providers") or []:
            if isinstance(provider, dict) and provider.get("id") == attempt.method:
                fields = {str(p["name"]): str(p["value"]) for p in provider.get("parameters") or []}
                return PaymentStart(
                    provider_reference=transaction_id,
                    redirect_url=str(data.get("href", "")),
                    form_action=str(provider.get("url", "")),
                    form_fields=fields,
                )
        return PaymentStart(
            provider_reference=transaction_id, redirect_url=str(data.get("href", ""))
        )

    def refund(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        """Refund `refund.amount_minor` of the payment.

        A normal merchant sends the `amount` alone: Paytrail's README requires it for normal
        payment refunds and keeps refund `items` for Shop-in-Shop, and its normal-merchant
        example sends no items. Which products were refunded stays on our refund lines. A
        Shop-in-Shop aggregate refunds per item (`amount`, `stamp`, `reference`, what the
        OpenAPI document's `RefundItem` requires), with `amount` their sum, as Paytrail's
        PHP SDK insists.
        """
        body: dict[str, Any] = {
            "amount": refund.amount_minor,
            "refundStamp": refund.idempotency_key,
            "refundReference": str(refund.pk),
            "callbackUrls": {
                "success": self.url("paytrail-refund-success"),
                "cancel": self.url("paytrail-refund-cancel"),
            },
        }
        if self.shop_in_shop_merchant:
            items = self._shop_in_shop_refund_items(attempt, refund)
            if items:
                body["items"] = items
        _, data = self._request(
            "POST",
            f"/payments/{attempt.provider_reference}/refund",
            body,
            transaction_id=attempt.provider_reference,
        )
        return _refund_result(data, str(data.get("transactionId", "")))

    def _shop_in_shop_refund_items(
        self, attempt: PaymentAttempt, refund: Refund
    ) -> list[dict[str, Any]] | None:
        """The refund's lines as Shop-in-Shop refund items; None for a whole payment.

        The OpenAPI document's comment on `Refund`: the aggregate "can do full refund without
        subtrade level info by providing just the amount". Anything less needs items that
        add up to the amount, or Paytrail could not tell which sub-trade gives it back.
        """
        refunded = [
            rl for rl in refund.lines.select_related("order_line__order") if rl.amount_minor > 0
        ]
        if refunded and sum(rl.amount_minor for rl in refunded) == refund.amount_minor:
            return [
                {
                    "amount": rl.amount_minor,
                    "stamp": item_stamp(rl.order_line),
                    "reference": item_reference(rl.order_line),
                }
                for rl in refunded
            ]
        if refund.amount_minor == attempt.amount_minor and not attempt.refunded_minor:
            return None
        raise ProviderError(
            "Paytrail Shop-in-Shop refunds need the refunded products, adding up to the amount",
            permanent=True,
        )

    def refund_status(self, attempt: PaymentAttempt, refund: Refund) -> RefundResult:
        if not refund.provider_reference:
            raise ProviderError(
                "Paytrail has not acknowledged this refund; its callback will settle it",
                permanent=False,
            )
        _, data = self._request(
            "GET",
            f"/payments/{refund.provider_reference}",
            None,
            transaction_id=refund.provider_reference,
        )
        return _refund_result(data, refund.provider_reference)

    def can_check_refund(self, refund: Refund) -> bool:
        # Paytrail documents no refund status query. Its refund answer names the refund's own
        # Checkout transaction (RefundResponse.transactionId), which GET /payments/{id} fetches;
        # a refund whose answer never came (a 5xx, a timeout) has no id to ask about.
        return bool(refund.provider_reference)

    def _verified_query(self, request: HttpRequest) -> dict[str, str]:
        params = {k: str(v) for k, v in request.GET.items()}
        account_id, secret = self._merchant
        verify_query(params, secret, account_id)
        return params

    def parse_notification(self, request: HttpRequest) -> ProviderEvent:
        """A payment redirect or callback (both carry the same signed query)."""
        params = self._verified_query(request)
        status = params.get("checkout-status", "")
        transaction_id = params.get("checkout-transaction-id", "")
        if not transaction_id or status not in PAYMENT_STATUSES:
            raise InvalidNotification("Paytrail notification lacks a transaction id or status")
        return ProviderEvent(
            event_id=f"{transaction_id}:{status}",
            kind=PAYMENT_STATUSES[status],
            type=f"payment.{status}",
            payment_reference=transaction_id,
            stamp=params.get("checkout-stamp", ""),
            amount_minor=_amount(params.get("checkout-amount")),
            currency="EUR",
            method=params.get("checkout-provider", ""),
            payload=params,
        )

    def parse_refund_callback(self, request: HttpRequest) -> ProviderEvent:
        """A refund's success/cancel callback; `checkout-stamp` is our refundStamp."""
        params = self._verified_query(request)
        status = params.get("checkout-status", "")
        stamp = params.get("checkout-stamp", "")
        if not stamp or status not in REFUND_STATUSES:
            raise InvalidNotification("Paytrail refund callback lacks a stamp or status")
        kind = REFUND_EVENT_KINDS[REFUND_STATUSES[status]]
        return ProviderEvent(
            event_id=f"refund:{stamp}:{status}",
            kind=kind,
            type=f"refund.{status}",
            refund_reference=params.get("checkout-transaction-id", ""),
            refund_key=stamp,
            amount_minor=_amount(params.get("checkout-amount")),
            currency="EUR",
            payload=params,
        )


def _amount(value: str | None) -> int | None:
    """Cents, or None when Paytrail sent none; anything else is refused, not skipped."""
    if not value:
        return None
    # isdigit() alone also accepts "²" and other digits int() refuses.
    if not (value.isascii() and value.isdigit()):
        raise InvalidNotification(f"Paytrail amount {value[:20]!r} is not a number of cents")
    return int(value)
