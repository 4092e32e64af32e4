"""Controls shared by the sandboxes: deliver queued webhooks, inject faults."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse

from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.store import sandbox_view


@sandbox_view
def deliver(request: HttpRequest) -> HttpResponse:
    """POST: send every queued webhook/callback now (for a sandbox run without auto-delivery)."""
    if request.method != "POST":
        return JsonResponse({"error": "Use POST"}, status=405)
    sent = deliveries.deliver_pending()
    return JsonResponse(
        {"sent": [{"url": d.url, "status": d.last_status, "error": d.last_error} for d in sent]}
    )


@sandbox_view
def faults(request: HttpRequest, provider: str) -> HttpResponse:
    """POST {"operation", "fault", "count"}: make the next calls of an operation fail."""
    if request.method != "POST":
        return JsonResponse({"error": "Use POST"}, status=405)
    try:
        body = json.loads(request.body)
        store.add_fault(
            provider, str(body["operation"]), str(body["fault"]), int(body.get("count", 1))
        )
    except (ValueError, KeyError, TypeError) as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"ok": True})
