"""Webhook: POST the order as JSON to the merchant's URL, signed so the receiver can trust it.

Headers sent with every delivery:

- `X-Orderdesk-Delivery`: the same id on every retry and re-run of one action of one order,
  so the receiver can drop duplicates.
- `X-Orderdesk-Timestamp`: Unix seconds when this attempt was sent.
- `X-Orderdesk-Signature`: `sha256=` + hex HMAC-SHA256 with the webhook's secret over
  `"{timestamp}.{body}"`. Receivers recompute it over the raw body and reject old timestamps.

Body (`schema` 1): `{"schema", "event": "order.paid", "delivery_id", "order": {...},
"customer": {...}, "lines": [...], "payments": [...]}`; amounts are integer minor units with
the order's ISO 4217 currency.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from orderdesk.actions.kinds import http
from orderdesk.actions.kinds.base import ActionError, ActionResult, Kind

if TYPE_CHECKING:
    from orderdesk.actions.models import ActionRun, ActionSnapshot
    from orderdesk.orders.models import Order

SCHEMA_VERSION = 1
DELIVERY_NAMESPACE = uuid.UUID("5b0f3c59-6f0e-4d3a-9a57-1f2e8d7c4b10")


def delivery_id(snapshot: ActionSnapshot, operation: str = "run") -> str:
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{snapshot.pk}:{operation}"))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def order_payload(order: Order) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "order": {
            "number": order.number,
            "status": order.status,
            "currency": order.currency,
            "subtotal_minor": order.subtotal_minor,
            "discount_minor": order.discount_minor,
            "vat_minor": order.vat_minor,
            "total_minor": order.total_minor,
            "refunded_minor": order.refunded_minor,
            "discount_code": order.discount_code.code if order.discount_code else None,
            "offer": order.offer.name if order.offer else None,
            "source": order.source,
            "tags": list(order.tags),
            "created_at": iso(order.created_at),
            "paid_at": iso(order.paid_at),
        },
        "customer": {
            "email": order.customer_email,
            "first_name": order.first_name,
            "last_name": order.last_name,
            "company": order.company,
            "phone": order.phone,
            "address_line1": order.address_line1,
            "address_line2": order.address_line2,
            "postal_code": order.postal_code,
            "city": order.city,
            "region": order.region,
            "country": order.country,
            "vat_id": order.vat_id,
            "extra_fields": order.extra_fields,
            "analytics_consent": order.analytics_consent,
        },
        "lines": [
            {
                "kind": line.kind,
                "product_id": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "discount_minor": line.discount_minor,
                "vat_rate": str(line.vat_rate),
                "vat_minor": line.vat_minor,
                "total_minor": line.total_minor,
            }
            for line in order.lines.all()
        ],
        "payments": [
            {
                "provider": attempt.provider,
                "method": attempt.method,
                "status": attempt.status,
                "amount_minor": attempt.amount_minor,
                "currency": attempt.currency,
                "reference": attempt.provider_reference,
                "created_at": iso(attempt.created_at),
            }
            for attempt in order.payment_attempts.all()
        ],
    }


class Webhook(Kind):
    """Settings: url, secret."""

    def run(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        url = snapshot.settings.get("url", "")
        secret = snapshot.settings.get("secret", "")
        if not url:
            raise ActionError("No webhook URL is configured", permanent=True)
        if not secret:
            raise ActionError("The webhook has no signing secret configured", permanent=True)
        delivery = delivery_id(snapshot)
        body = json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "event": "order.paid",
                "delivery_id": delivery,
                **order_payload(snapshot.order),
            },
            separators=(",", ":"),
        ).encode()
        timestamp = str(int(time.time()))
        response = http.post(
            url,
            service="Webhook receiver",
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Orderdesk-Webhooks/1",
                "X-Orderdesk-Delivery": delivery,
                "X-Orderdesk-Timestamp": timestamp,
                "X-Orderdesk-Signature": sign(secret, timestamp, body),
            },
        )
        return ActionResult(http_status=response.status_code, detail=http.shorten(response.text))
