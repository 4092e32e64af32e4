"""Local stand-ins for Kajabi's offer webhooks and a merchant's webhook receiver.

Errors on demand, per offer or endpoint: set a mode with
`POST /sandbox/kajabi/offers/<key>/mode` (`mode=invalid_email|server_error|timeout|ok`), or
add `?fail=<mode>` to the configured URL. Every view is a 404 unless SANDBOXES_ENABLED.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from orderdesk.actions.kinds.webhook import sign
from orderdesk.sandboxes.models import (
    SandboxKajabiGrant,
    SandboxKajabiOffer,
    SandboxMode,
    SandboxWebhookDelivery,
    SandboxWebhookEndpoint,
)
from orderdesk.sandboxes.store import sandbox_view


def _mode(request: HttpRequest, stored: str) -> str:
    wanted = request.GET.get("fail", "")
    return wanted if wanted in SandboxMode.values else stored


def _failure(mode: str) -> HttpResponse | None:
    if mode == SandboxMode.INVALID_EMAIL:
        return JsonResponse({"errors": ["Email: is invalid"]}, status=422)
    if mode == SandboxMode.SERVER_ERROR:
        return JsonResponse({"errors": ["Internal Server Error"]}, status=500)
    if mode == SandboxMode.TIMEOUT:
        time.sleep(settings.ACTION_TIMEOUT_SECONDS + 1)
        return JsonResponse({"errors": ["Answered too late"]}, status=504)
    return None


def _params(request: HttpRequest) -> dict[str, str]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except json.JSONDecodeError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: str(v) for k, v in request.POST.items()}


@sandbox_view
@require_POST
def kajabi_activate(request: HttpRequest, key: str) -> HttpResponse:
    offer, _ = SandboxKajabiOffer.objects.get_or_create(key=key)
    if failure := _failure(_mode(request, offer.mode)):
        return failure
    params = _params(request)
    errors = [
        f"{field.title()}: can't be blank"
        for field in ("name", "email")
        if not params.get(field, "").strip()
    ]
    if params.get("email") and "@" not in params["email"]:
        errors.append("Email: is invalid")
    if not params.get("external_user_id"):
        errors.append("External user id: can't be blank")
    if errors:
        return JsonResponse({"errors": errors}, status=422)
    with transaction.atomic():
        grant, created = SandboxKajabiGrant.objects.select_for_update().get_or_create(
            offer=offer,
            external_user_id=params["external_user_id"],
            defaults={
                "email": params["email"],
                "name": params["name"],
                "granted_at": timezone.now(),
            },
        )
        was_active = grant.is_active and not created
        grant.is_active = True
        grant.revoked_at = None
        grant.email, grant.name = params["email"], params["name"]
        grant.activations += 1
        grant.grant_email_sent |= request.GET.get("send_offer_grant_email") == "true"
        grant.save()
    if was_active:
        return JsonResponse(
            {"errors": ["The offer has already been granted to this member"]}, status=422
        )
    return JsonResponse({"status": "granted", "external_user_id": grant.external_user_id})


@sandbox_view
@require_POST
def kajabi_deactivate(request: HttpRequest, key: str) -> HttpResponse:
    offer, _ = SandboxKajabiOffer.objects.get_or_create(key=key)
    if failure := _failure(_mode(request, offer.mode)):
        return failure
    external_user_id = _params(request).get("external_user_id", "")
    updated = SandboxKajabiGrant.objects.filter(
        offer=offer, external_user_id=external_user_id, is_active=True
    ).update(is_active=False, revoked_at=timezone.now())
    if not updated:
        return JsonResponse({"errors": ["Offer grant not found for offer on member"]}, status=404)
    return JsonResponse({"status": "revoked", "external_user_id": external_user_id})


@sandbox_view
@require_POST
def kajabi_set_mode(request: HttpRequest, key: str) -> HttpResponse:
    mode = _params(request).get("mode", "")
    if mode not in SandboxMode.values:
        return JsonResponse(
            {"error": f"mode must be one of {', '.join(SandboxMode.values)}"}, status=400
        )
    SandboxKajabiOffer.objects.update_or_create(key=key, defaults={"mode": mode})
    return JsonResponse({"key": key, "mode": mode})


@sandbox_view
@require_GET
def kajabi_offer(request: HttpRequest, key: str) -> HttpResponse:
    offer, _ = SandboxKajabiOffer.objects.get_or_create(key=key)
    grants = [
        {
            "external_user_id": g.external_user_id,
            "email": g.email,
            "name": g.name,
            "active": g.is_active,
            "activations": g.activations,
            "grant_email_sent": g.grant_email_sent,
        }
        for g in offer.grants.order_by("pk")
    ]
    return JsonResponse({"key": key, "mode": offer.mode, "grants": grants})


@sandbox_view
def webhook_receiver(request: HttpRequest, key: str) -> HttpResponse:
    endpoint, _ = SandboxWebhookEndpoint.objects.get_or_create(key=key)
    if request.method == "GET":
        deliveries = [
            {
                "delivery_id": d.delivery_id,
                "signature_valid": d.signature_valid,
                "duplicate": d.is_duplicate,
                "event": d.body.get("event"),
                "order_number": (d.body.get("order") or {}).get("number"),
            }
            for d in endpoint.deliveries.order_by("pk")
        ]
        return JsonResponse({"key": key, "mode": endpoint.mode, "deliveries": deliveries})
    if request.method != "POST":
        return HttpResponse(status=405)
    if failure := _failure(_mode(request, endpoint.mode)):
        return failure
    timestamp = request.headers.get("X-Orderdesk-Timestamp", "")
    signature = request.headers.get("X-Orderdesk-Signature", "")
    delivery_id = request.headers.get("X-Orderdesk-Delivery", "")
    valid = bool(timestamp) and signature == sign(endpoint.secret, timestamp, request.body)
    try:
        body = json.loads(request.body)
    except json.JSONDecodeError:
        return JsonResponse({"error": "Body is not JSON"}, status=400)
    duplicate = endpoint.deliveries.filter(delivery_id=delivery_id).exists()
    SandboxWebhookDelivery.objects.create(
        endpoint=endpoint,
        delivery_id=delivery_id,
        signature_valid=valid,
        is_duplicate=duplicate,
        body=body if isinstance(body, dict) else {"body": body},
    )
    if not valid:
        return JsonResponse({"error": "Invalid signature"}, status=401)
    return JsonResponse({"received": delivery_id, "duplicate": duplicate})


@sandbox_view
@require_POST
def webhook_set_mode(request: HttpRequest, key: str) -> HttpResponse:
    params = _params(request)
    mode = params.get("mode", "")
    if mode not in SandboxMode.values:
        return JsonResponse(
            {"error": f"mode must be one of {', '.join(SandboxMode.values)}"}, status=400
        )
    defaults = {"mode": mode, **({"secret": params["secret"]} if params.get("secret") else {})}
    SandboxWebhookEndpoint.objects.update_or_create(key=key, defaults=defaults)
    return JsonResponse({"key": key, "mode": mode})
