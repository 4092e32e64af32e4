"""Webhooks and callbacks from the sandboxes to Orderdesk.

Each is a SandboxDelivery row written with the sandbox's own change. It goes out after the
response, from a background thread (the demo: the one web server is never waiting on itself),
or when a test calls `deliver_pending()` (SANDBOX_AUTO_DELIVER off).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import httpx
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from orderdesk.sandboxes.models import SandboxDelivery

logger = logging.getLogger(__name__)


def queue(
    provider: str,
    *,
    method: str,
    url: str,
    body: str = "",
    signing: dict[str, str] | None = None,
    description: str = "",
) -> SandboxDelivery:
    delivery = SandboxDelivery.objects.create(
        provider=provider,
        method=method,
        url=url,
        body=body,
        signing=signing or {},
        description=description[:200],
    )
    if settings.SANDBOX_AUTO_DELIVER:
        transaction.on_commit(_deliver_soon)
    return delivery


def _deliver_soon() -> None:
    threading.Thread(target=_deliver_in_background, daemon=True).start()


def _deliver_in_background() -> None:
    # Give the response that caused the delivery time to reach the client first.
    time.sleep(0.3)
    try:
        deliver_pending()
    except Exception:
        logger.exception("Sandbox delivery failed")
    finally:
        connection.close()


def deliver_pending() -> list[SandboxDelivery]:
    """Send every delivery not yet answered with a 2xx; return them."""
    close_old_connections()
    sent = []
    for delivery in SandboxDelivery.objects.filter(delivered_at=None).order_by("pk"):
        claimed = SandboxDelivery.objects.filter(pk=delivery.pk, delivered_at=None).update(
            attempts=delivery.attempts + 1
        )
        if claimed:
            send(delivery)
            sent.append(delivery)
    return sent


def send(delivery: SandboxDelivery) -> httpx.Response | None:
    """Send one delivery (again, for a replay), signing it now; record the answer."""
    headers = {}
    if delivery.signing.get("scheme") == "stripe":
        timestamp = int(time.time())
        signed = f"{timestamp}.{delivery.body}".encode()
        v1 = hmac.new(delivery.signing["secret"].encode(), signed, hashlib.sha256).hexdigest()
        headers["Stripe-Signature"] = f"t={timestamp},v1={v1}"
        headers["Content-Type"] = "application/json; charset=utf-8"
    elif delivery.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        response = httpx.request(
            delivery.method,
            delivery.url,
            content=delivery.body.encode(),
            headers=headers,
            timeout=httpx.Timeout(10.0),
        )
    except httpx.HTTPError as error:
        delivery.last_error = str(error)[:500]
        delivery.save(update_fields=["last_error"])
        return None
    delivery.last_status = response.status_code
    delivery.last_error = "" if response.is_success else response.text[:500]
    if response.is_success:
        delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["last_status", "last_error", "delivered_at"])
    return response
