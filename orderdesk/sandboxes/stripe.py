"""A Stripe sandbox: the v1 API parts Orderdesk uses, with state, idempotency and webhooks.

PaymentIntents (create, retrieve, a hosted "pay" step standing in for Stripe.js), refunds
(create, retrieve, list; pending → succeeded/failed), webhook endpoints, signed event delivery,
and faults on demand (500, timeout, pending refunds).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from orderdesk.payments.models import ProviderAccount
from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.store import sandbox_view

P = "stripe"
API_VERSION = "2026-06-24.dahlia"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[key]=v`, `expand[0]=x`) as nested dicts."""
    result: dict[str, Any] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", name)
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return result


def error(status: int, type: str, message: str, code: str = "", **extra: Any) -> JsonResponse:
    body: dict[str, Any] = {"type": type, "message": message, **extra}
    if code:
        body["code"] = code
    return JsonResponse({"error": body}, status=status)


def account_of(api_key: str) -> str:
    """The sandbox's id of the account an API key belongs to (one account per key)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def _account(request: HttpRequest) -> str | None:
    auth = request.headers.get("Authorization", "")
    key = auth.removeprefix("Bearer ").strip()
    if not key.startswith("sk_test_"):
        return None
    return account_of(key)


def register_webhook_endpoint(api_key: str, url: str) -> str:
    """Register `url` for events of `api_key`'s account; return the signing secret."""
    account = account_of(api_key)
    for endpoint in store.find(P, "webhook_endpoint", account=account, url=url):
        return str(endpoint["secret"])
    endpoint_id = store.new_id("we_")
    secret = store.new_id("whsec_")
    store.put(
        P,
        "webhook_endpoint",
        endpoint_id,
        {
            "id": endpoint_id,
            "object": "webhook_endpoint",
            "url": url,
            "secret": secret,
            "account": account,
            "enabled_events": ["*"],
            "status": "enabled",
        },
    )
    return secret


def emit(account: str, type: str, obj: dict[str, Any]) -> None:
    """Send an event about `obj` to every endpoint of the account."""
    event_id = store.new_id("evt_")
    event = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": _public(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
    store.put(P, "event", event_id, event)
    for endpoint in _endpoints(account):
        deliveries.queue(
            P,
            method="POST",
            url=endpoint["url"],
            body=json.dumps(event),
            signing={"scheme": "stripe", "secret": endpoint["secret"]},
            description=f"{type} {obj['id']}",
        )


def _endpoints(account: str) -> list[dict[str, Any]]:
    """Registered endpoints of the account; without any, the webhook URL of each Orderdesk
    checkout configured with this key (as if its admin had set it up in Stripe's dashboard)."""
    registered = store.find(P, "webhook_endpoint", account=account)
    if registered:
        return registered
    found = []
    for configured in ProviderAccount.objects.filter(provider=P):
        key = configured.secret("secret_key")
        if key and account_of(key) == account:
            path = reverse("payments:stripe-webhook", args=[configured.checkout_id])
            found.append(
                {
                    "url": settings.SITE_URL.rstrip("/") + path,
                    "secret": configured.secret("webhook_secret"),
                }
            )
    return found


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


@sandbox_view
def api(request: HttpRequest, path: str) -> HttpResponse:
    """Everything under /sandbox/stripe/v1/: auth, idempotency, then the resource."""
    account = _account(request)
    if account is None:
        return error(401, "invalid_request_error", "Invalid API Key provided")
    body = request.body.decode()
    key = request.headers.get("Idempotency-Key", "") if request.method == "POST" else ""
    if key:
        fingerprint = hashlib.sha256(
            f"{path}\n{sorted(parse_qsl(body, keep_blank_values=True))}".encode()
        ).hexdigest()
        with transaction.atomic():
            saved = store.get_for_update(P, "idempotency", f"{account}:{key}")
            if saved is not None:
                if saved["fingerprint"] != fingerprint:
                    return error(
                        409,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        code="idempotency_key_in_use",
                    )
                replayed = JsonResponse(saved["body"], status=saved["status"])
                replayed["Idempotent-Replayed"] = "true"
                return replayed
    response, stall = _route(request, account, path, decode_form(body))
    if key and response.status_code < 500:
        # Stripe keeps the first answer for a key once execution began, errors included; the
        # sandbox's 500s stand for failures before that, so a retry runs again.
        store.put(
            P,
            "idempotency",
            f"{account}:{key}",
            {
                "fingerprint": fingerprint,
                "status": response.status_code,
                "body": json.loads(response.content),
            },
        )
    if stall:
        store.stall()
    return response


def _route(
    request: HttpRequest, account: str, path: str, params: dict[str, Any]
) -> tuple[HttpResponse, bool]:
    parts = path.strip("/").split("/")
    method = request.method
    if parts == ["payment_intents"] and method == "POST":
        return _with_fault("payment_intents.create", lambda fault: create_intent(account, params))
    if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
        return _owned(account, "payment_intent", parts[1]), False
    if parts == ["refunds"] and method == "POST":
        return _with_fault(
            "refunds.create",
            lambda fault: create_refund(account, params, pending=fault == "pending"),
        )
    if parts == ["refunds"] and method == "GET":
        found = store.find(P, "refund", _account=account)
        if "payment_intent" in request.GET:
            found = [r for r in found if r["payment_intent"] == request.GET["payment_intent"]]
        data = [_public(r) for r in reversed(found)]
        return JsonResponse(
            {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        ), False
    if len(parts) == 2 and parts[0] == "refunds" and method == "GET":
        return _owned(account, "refund", parts[1]), False
    if parts == ["webhook_endpoints"] and method == "POST":
        if not params.get("url"):
            return error(
                400, "invalid_request_error", "Missing required param: url.", param="url"
            ), False
        secret = register_webhook_endpoint(request.headers["Authorization"][7:], params["url"])
        endpoint = store.find(P, "webhook_endpoint", secret=secret)[0]
        return JsonResponse({k: v for k, v in endpoint.items() if k != "account"}), False
    return error(
        404, "invalid_request_error", f"Unrecognized request URL ({method}: /v1/{path})"
    ), False


def _with_fault(operation: str, handler: Any) -> tuple[HttpResponse, bool]:
    fault = store.take_fault(P, operation)
    if fault == "500":
        return error(
            500, "api_error", "Sandbox: an error occurred with our connection to Stripe."
        ), False
    with transaction.atomic():
        response: HttpResponse = handler(fault)
    return response, fault == "timeout"


def _owned(account: str, kind: str, object_id: str) -> HttpResponse:
    obj = store.get(P, kind, object_id)
    if obj is None or obj.get("_account") != account:
        return error(
            404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing"
        )
    return JsonResponse(_public(obj))


def _int_param(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def intent_object(
    intent_id: str,
    *,
    account: str,
    amount: int,
    currency: str,
    metadata: dict[str, Any],
    created: int,
) -> dict[str, Any]:
    """A new PaymentIntent as the sandbox stores it, waiting for the customer to pay."""
    pay_url = f"{settings.SITE_URL.rstrip('/')}{reverse('sandboxes:stripe-pay', args=[intent_id])}"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "currency": currency,
        "status": "requires_payment_method",
        "client_secret": f"{intent_id}_secret_{store.new_id('')}",
        "metadata": metadata,
        "payment_method_types": ["card"],
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "created": created,
        # The sandbox's stand-in for Stripe.js: a page where the customer pays.
        "next_action": {
            "type": "redirect_to_url",
            "redirect_to_url": {"url": pay_url, "return_url": None},
        },
        "_account": account,
        "_refunded": 0,
    }


def mark_paid(intent: dict[str, Any], charge_id: str) -> dict[str, Any]:
    """The intent after the customer paid it in full with charge `charge_id`."""
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge_id,
        last_payment_error=None,
        next_action=None,
    )
    return intent


def refund_object(
    refund_id: str,
    intent: dict[str, Any],
    *,
    amount: int,
    pending: bool,
    reason: str | None,
    metadata: dict[str, Any],
    created: int,
) -> dict[str, Any]:
    """A refund of `intent` as the sandbox stores it; the caller adds `amount` to the intent."""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": intent["currency"],
        "charge": intent["latest_charge"],
        "payment_intent": intent["id"],
        "status": "pending" if pending else "succeeded",
        "reason": reason,
        "metadata": metadata,
        "failure_reason": None,
        "pending_reason": "processing" if pending else None,
        "created": created,
        "_account": intent["_account"],
    }


def create_intent(account: str, params: dict[str, Any]) -> HttpResponse:
    amount = _int_param(params, "amount")
    currency = str(params.get("currency", "")).lower()
    if amount is None or amount < 1:
        return error(
            400, "invalid_request_error", "Missing required param: amount.", param="amount"
        )
    if not re.fullmatch(r"[a-z]{3}", currency):
        return error(400, "invalid_request_error", "Invalid currency.", param="currency")
    intent_id = store.new_id("pi_")
    intent = intent_object(
        intent_id,
        account=account,
        amount=amount,
        currency=currency,
        metadata=params.get("metadata") or {},
        created=int(time.time()),
    )
    store.put(P, "payment_intent", intent_id, intent)
    emit(account, "payment_intent.created", intent)
    return JsonResponse(_public(intent))


def create_refund(account: str, params: dict[str, Any], *, pending: bool) -> HttpResponse:
    intent_id = str(params.get("payment_intent", ""))
    intent = store.get_for_update(P, "payment_intent", intent_id)
    if intent is None or intent["_account"] != account:
        return error(
            400,
            "invalid_request_error",
            f"No such payment_intent: '{intent_id}'",
            code="resource_missing",
            param="payment_intent",
        )
    if intent["status"] != "succeeded":
        return error(
            400,
            "invalid_request_error",
            "This PaymentIntent does not have a successful charge to refund.",
            code="charge_not_refundable",
        )
    remaining = intent["amount_received"] - intent["_refunded"]
    amount = _int_param(params, "amount")
    amount = remaining if amount is None else amount
    if remaining <= 0:
        return error(
            400,
            "invalid_request_error",
            f"Charge {intent['latest_charge']} has already been refunded.",
            code="charge_already_refunded",
        )
    if amount < 1 or amount > remaining:
        return error(
            400,
            "invalid_request_error",
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )
    refund_id = store.new_id("re_")
    refund = refund_object(
        refund_id,
        intent,
        amount=amount,
        pending=pending,
        reason=params.get("reason"),
        metadata=params.get("metadata") or {},
        created=int(time.time()),
    )
    intent["_refunded"] += amount
    store.put(P, "payment_intent", intent_id, intent)
    store.put(P, "refund", refund_id, refund)
    emit(account, "refund.created", refund)
    if not pending:
        emit(account, "charge.refunded", _charge(intent))
    return JsonResponse(_public(refund))


def _charge(intent: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": intent["latest_charge"],
        "object": "charge",
        "amount": intent["amount_received"],
        "amount_refunded": intent["_refunded"],
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "refunded": intent["_refunded"] >= intent["amount_received"],
        "status": "succeeded",
    }


@sandbox_view
def pay(request: HttpRequest, intent_id: str) -> HttpResponse:
    """The customer's card step: GET shows the page, POST `outcome=succeed|decline` pays."""
    intent = store.get(P, "payment_intent", intent_id)
    if intent is None:
        return error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'")
    if request.method == "POST":
        outcome = request.POST.get("outcome", "succeed")
        with transaction.atomic():
            intent = store.get_for_update(P, "payment_intent", intent_id) or intent
            if intent["status"] in ("requires_payment_method", "requires_confirmation"):
                if outcome == "succeed":
                    mark_paid(intent, store.new_id("ch_"))
                    store.put(P, "payment_intent", intent_id, intent)
                    emit(intent["_account"], "payment_intent.succeeded", intent)
                else:
                    intent["last_payment_error"] = {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "message": "Your card was declined.",
                    }
                    store.put(P, "payment_intent", intent_id, intent)
                    emit(intent["_account"], "payment_intent.payment_failed", intent)
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse(_public(intent))
    return render(request, "sandboxes/stripe_pay.html", {"intent": intent})


@sandbox_view
def settle_refund(request: HttpRequest, refund_id: str) -> HttpResponse:
    """Finish a pending refund: POST `outcome=succeeded|failed` (what the bank eventually did)."""
    outcome = request.POST.get("outcome", "succeeded")
    with transaction.atomic():
        refund = store.get_for_update(P, "refund", refund_id)
        if refund is None:
            return error(404, "invalid_request_error", f"No such refund: '{refund_id}'")
        if refund["status"] != "pending":
            return JsonResponse(_public(refund))
        intent = store.get_for_update(P, "payment_intent", refund["payment_intent"])
        assert intent is not None
        if outcome == "failed":
            refund.update(status="failed", failure_reason="declined", pending_reason=None)
            intent["_refunded"] -= refund["amount"]
            store.put(P, "payment_intent", intent["id"], intent)
            store.put(P, "refund", refund_id, refund)
            emit(refund["_account"], "refund.failed", refund)
        else:
            refund.update(status="succeeded", pending_reason=None)
            store.put(P, "refund", refund_id, refund)
            emit(refund["_account"], "refund.updated", refund)
            emit(refund["_account"], "charge.refunded", _charge(intent))
    return JsonResponse(_public(refund))
