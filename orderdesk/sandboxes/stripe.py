"""A Stripe sandbox: the v1 API parts Orderdesk uses, with state, idempotency and webhooks.

PaymentIntents (create, retrieve, a hosted "pay" step standing in for Stripe.js), refunds
(create, retrieve, list; pending → succeeded/failed, succeeded → failed), disputes (opened,
won, lost), webhook endpoints, signed event delivery, and faults on demand (500, timeout,
pending refunds).

Objects are Stripe's published examples (`published/stripe-fixtures3.json`) with our values
filled in, so a field Stripe leaves out of an object is left out here too; events carry the
API version of the pinned SDK (`stripe.api_version`), as an endpoint configured as
`docs/payments.md` asks would receive them. Idempotency follows Stripe's documented rules
(docs.stripe.com/api/idempotent_requests, /error-low-level): the first answer once the
endpoint began executing is kept and replayed with `Idempotent-Replayed: true`, errors
included; parameters that fail validation keep nothing; the key sent with other parameters
is a 400 `idempotency_error`; a 409 only while another request with the key is running.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import stripe as stripe_sdk
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from orderdesk.lib.urls import query_url
from orderdesk.payments.models import ProviderAccount
from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.store import sandbox_view

P = "stripe"
# What the pinned SDK speaks, and what docs/payments.md tells merchants to configure.
API_VERSION: str = stripe_sdk.api_version
PUBLISHED = Path(__file__).with_name("published") / "stripe-fixtures3.json"

# The parameters Stripe's OpenAPI document (spec3) allows on the endpoints served here; any
# other is refused as Stripe refuses it, before the endpoint runs (nothing kept for the key).
ALLOWED_PARAMS: dict[str, frozenset[str]] = {
    "payment_intents.create": frozenset(
        [
            "amount",
            "application_fee_amount",
            "automatic_payment_methods",
            "capture_method",
            "confirm",
            "confirmation_method",
            "currency",
            "customer",
            "description",
            "error_on_requires_action",
            "expand",
            "mandate",
            "mandate_data",
            "metadata",
            "off_session",
            "on_behalf_of",
            "payment_method",
            "payment_method_data",
            "payment_method_options",
            "payment_method_types",
            "receipt_email",
            "return_url",
            "setup_future_usage",
            "shipping",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "transfer_data",
            "transfer_group",
            "use_stripe_sdk",
        ]
    ),
    "refunds.create": frozenset(
        [
            "amount",
            "charge",
            "expand",
            "metadata",
            "payment_intent",
            "reason",
            "refund_application_fee",
            "reverse_transfer",
        ]
    ),
}


@functools.cache
def published(kind: str) -> dict[str, Any]:
    """Stripe's published example of an object (`refund`, `payment_intent`, `charge`,
    `dispute`, `event`), the template every sandbox object starts from."""
    resources: dict[str, dict[str, Any]] = json.loads(PUBLISHED.read_text())["resources"]
    return resources[kind]


def _from_published(kind: str, **values: Any) -> dict[str, Any]:
    obj = copy.deepcopy(published(kind))
    obj.update(values)
    return obj


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


class Invalid(Exception):
    """Parameters that fail validation: a 400 before the endpoint runs, kept for no key."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.response = error(400, "invalid_request_error", message, param=param)


def _check_params(operation: str, params: dict[str, Any]) -> None:
    for name in params:
        if name not in ALLOWED_PARAMS[operation]:
            raise Invalid(f"Received unknown parameter: {name}", name)


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


def emit(
    account: str, type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
) -> None:
    """Send an event about `obj` to every endpoint of the account (`previous`: the
    `previous_attributes` Stripe adds to `*.updated` events)."""
    event_id = store.new_id("evt_")
    data: dict[str, Any] = {"object": _public(obj)}
    if previous:
        data["previous_attributes"] = previous
    event = _from_published(
        "event",
        id=event_id,
        api_version=API_VERSION,
        created=int(time.time()),
        data=data,
        livemode=False,
        pending_webhooks=1,
        request={"id": None, "idempotency_key": None},
        type=type,
    )
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
    slot = f"{account}:{key}"
    fingerprint = hashlib.sha256(
        f"{path}\n{sorted(parse_qsl(body, keep_blank_values=True))}".encode()
    ).hexdigest()
    if key:
        with transaction.atomic():
            saved = store.get_for_update(P, "idempotency", slot)
            if saved is not None and saved.get("running"):
                # Another request with this key has not answered yet (Stripe's error code
                # `idempotency_key_in_use`; its type is our assumption).
                return error(
                    409,
                    "invalid_request_error",
                    "There is currently another in-progress request using this Idempotent "
                    "Key (that probably means you submitted twice, and the other request is "
                    "still going through): try again later.",
                    code="idempotency_key_in_use",
                )
            if saved is not None and saved["fingerprint"] != fingerprint:
                return error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{key}' if you meant to execute a different request.",
                )
            if saved is not None:
                replayed = JsonResponse(saved["body"], status=saved["status"])
                replayed["Idempotent-Replayed"] = "true"
                return replayed
            # Claimed (and committed) before the endpoint runs, so a concurrent request with
            # the key sees it running.
            store.put(P, "idempotency", slot, {"fingerprint": fingerprint, "running": True})
    try:
        response, stall = _route(request, account, path, decode_form(body))
        kept = True
    except Invalid as invalid:
        response, stall, kept = invalid.response, False, False
    except _BeforeExecution as failed:
        response, stall, kept = failed.response, False, False
    if key:
        if kept:
            store.put(
                P,
                "idempotency",
                slot,
                {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "body": json.loads(response.content),
                },
            )
        else:
            store.forget(P, "idempotency", slot)
    if stall:
        store.stall()
    return response


class _BeforeExecution(Exception):
    """The sandbox's "500" fault: a server error before the endpoint began executing, which
    Stripe keeps nothing for (a retry with the key runs again). Stripe keeps and replays a
    500 that happened during execution; the sandbox does not produce one."""

    def __init__(self) -> None:
        super().__init__("500")
        self.response = error(
            500, "api_error", "Sandbox: an error occurred with our connection to Stripe."
        )


def _route(
    request: HttpRequest, account: str, path: str, params: dict[str, Any]
) -> tuple[HttpResponse, bool]:
    parts = path.strip("/").split("/")
    method = request.method
    if parts == ["payment_intents"] and method == "POST":
        _check_params("payment_intents.create", params)
        return _with_fault("payment_intents.create", lambda fault: create_intent(account, params))
    if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
        return _owned(account, "payment_intent", parts[1]), False
    if parts == ["refunds"] and method == "POST":
        _check_params("refunds.create", params)
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
        raise _BeforeExecution
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
    """An integer parameter, None when absent; one that is no integer fails validation."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise Invalid(f"Invalid integer: {value}", name)


def intent_object(
    intent_id: str,
    *,
    account: str,
    amount: int,
    currency: str,
    metadata: dict[str, Any],
    created: int,
    receipt_email: str | None = None,
    automatic_payment_methods: bool = False,
) -> dict[str, Any]:
    """A new PaymentIntent as the sandbox stores it, waiting for the customer to pay."""
    pay_url = f"{settings.SITE_URL.rstrip('/')}{reverse('sandboxes:stripe-pay', args=[intent_id])}"
    return _from_published(
        "payment_intent",
        id=intent_id,
        amount=amount,
        amount_capturable=0,
        amount_received=0,
        automatic_payment_methods={"enabled": True} if automatic_payment_methods else None,
        canceled_at=None,
        cancellation_reason=None,
        currency=currency,
        status="requires_payment_method",
        client_secret=f"{intent_id}_secret_{store.new_id('')}",
        metadata=metadata,
        payment_method_types=["card"],
        payment_method_configuration_details=None,
        last_payment_error=None,
        latest_charge=None,
        livemode=False,
        created=created,
        processing=None,
        receipt_email=receipt_email,
        shipping=None,
        transfer_data=None,
        managed_payments=None,
        # The sandbox's stand-in for Stripe.js: a page where the customer pays.
        next_action={
            "type": "redirect_to_url",
            "redirect_to_url": {"url": pay_url, "return_url": None},
        },
        _account=account,
        _refunded=0,
    )


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
    """A refund of `intent` as the sandbox stores it; the caller adds `amount` to the intent.

    Like Stripe's published refund, it has no `failure_reason` until it fails and no
    `pending_reason` unless it is pending.
    """
    refund = _from_published(
        "refund",
        id=refund_id,
        amount=amount,
        balance_transaction=None,
        currency=intent["currency"],
        charge=intent["latest_charge"],
        payment_intent=intent["id"],
        status="pending" if pending else "succeeded",
        reason=reason,
        metadata=metadata,
        created=created,
        _account=intent["_account"],
    )
    if pending:
        refund["pending_reason"] = "processing"
    return refund


def create_intent(account: str, params: dict[str, Any]) -> HttpResponse:
    amount = _int_param(params, "amount")
    currency = str(params.get("currency", "")).lower()
    if amount is None or amount < 1:
        raise Invalid("Missing required param: amount.", "amount")
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise Invalid("Invalid currency.", "currency")
    intent_id = store.new_id("pi_")
    automatic = params.get("automatic_payment_methods")
    intent = intent_object(
        intent_id,
        account=account,
        amount=amount,
        currency=currency,
        metadata=params.get("metadata") or {},
        created=int(time.time()),
        receipt_email=params.get("receipt_email"),
        automatic_payment_methods=isinstance(automatic, dict)
        and automatic.get("enabled") == "true",
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
    """The intent's charge, from Stripe's published charge (its card details included)."""
    refunds = [_public(r) for r in store.find(P, "refund", payment_intent=intent["id"])]
    return _from_published(
        "charge",
        id=intent["latest_charge"],
        amount=intent["amount_received"],
        amount_captured=intent["amount_received"],
        amount_refunded=intent["_refunded"],
        captured=True,
        created=intent["created"],
        currency=intent["currency"],
        description=None,
        disputed=bool(intent.get("_disputed")),
        metadata=intent["metadata"],
        payment_intent=intent["id"],
        receipt_url=None,
        refunded=intent["_refunded"] >= intent["amount_received"],
        refunds={
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{intent['latest_charge']}/refunds",
        },
        status="succeeded",
    )


@sandbox_view
def pay(request: HttpRequest, intent_id: str) -> HttpResponse:
    """The customer's card step: GET shows the page, POST `outcome=succeed|decline` pays.

    With `return_url` (a page of this site), the browser goes back there afterwards with
    `payment_intent` and `redirect_status`, as Stripe.js's `confirmPayment` sends it.
    """
    intent = store.get(P, "payment_intent", intent_id)
    if intent is None:
        return error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'")
    return_url = request.GET.get("return_url", "")
    if return_url and not url_has_allowed_host_and_scheme(
        return_url, allowed_hosts={request.get_host()}
    ):
        return error(400, "invalid_request_error", "return_url must be a page of this site")
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
        if return_url:
            status = "succeeded" if intent["status"] == "succeeded" else "failed"
            return HttpResponseRedirect(
                query_url(return_url, {"payment_intent": intent_id, "redirect_status": status})
            )
    return render(request, "sandboxes/stripe_pay.html", {"intent": intent})


@sandbox_view
def settle_refund(request: HttpRequest, refund_id: str) -> HttpResponse:
    """What the bank eventually did with a refund: POST `outcome=succeeded|failed`.

    A pending refund succeeds or fails; one that succeeded can still fail later (a card
    closed since, Stripe's `expired_or_canceled_card`), and the money returns to the
    merchant's balance. `failure_reason` may name another of Stripe's reasons.
    """
    outcome = request.POST.get("outcome", "succeeded")
    with transaction.atomic():
        refund = store.get_for_update(P, "refund", refund_id)
        if refund is None:
            return error(404, "invalid_request_error", f"No such refund: '{refund_id}'")
        before = refund["status"]
        if before == "failed" or (before == "succeeded" and outcome != "failed"):
            return JsonResponse(_public(refund))
        intent = store.get_for_update(P, "payment_intent", refund["payment_intent"])
        assert intent is not None
        refund.pop("pending_reason", None)
        if outcome == "failed":
            default = "declined" if before == "pending" else "expired_or_canceled_card"
            refund.update(
                status="failed",
                failure_reason=request.POST.get("failure_reason", default),
                failure_balance_transaction=store.new_id("txn_"),
            )
            intent["_refunded"] -= refund["amount"]
            store.put(P, "payment_intent", intent["id"], intent)
            store.put(P, "refund", refund_id, refund)
            emit(refund["_account"], "refund.updated", refund, previous={"status": before})
            emit(refund["_account"], "refund.failed", refund)
        else:
            refund.update(status="succeeded")
            store.put(P, "refund", refund_id, refund)
            emit(refund["_account"], "refund.updated", refund, previous={"status": before})
            emit(refund["_account"], "charge.refunded", _charge(intent))
    return JsonResponse(_public(refund))


DISPUTE_DAYS_TO_RESPOND = 7


@sandbox_view
def open_dispute(request: HttpRequest) -> HttpResponse:
    """The cardholder disputes a paid intent: POST `payment_intent`, `reason` (Stripe's codes,
    default `fraudulent`), `amount` (default the whole payment). Stripe opens the dispute and
    takes its amount from the balance: `charge.dispute.created`, then `.funds_withdrawn`."""
    with transaction.atomic():
        intent = store.get_for_update(P, "payment_intent", request.POST.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return error(404, "invalid_request_error", "No such paid payment_intent")
        amount = _int_param(request.POST.dict(), "amount") or intent["amount_received"]
        now = int(time.time())
        dispute_id = store.new_id("dp_")
        dispute = _from_published(
            "dispute",
            id=dispute_id,
            amount=amount,
            balance_transactions=[],
            charge=intent["latest_charge"],
            created=now,
            currency=intent["currency"],
            is_charge_refundable=False,
            livemode=False,
            metadata={},
            payment_intent=intent["id"],
            reason=request.POST.get("reason", "fraudulent"),
            status="needs_response",
            _account=intent["_account"],
        )
        dispute["evidence_details"] = dict(
            dispute["evidence_details"], due_by=now + DISPUTE_DAYS_TO_RESPOND * 86400
        )
        dispute["payment_method_details"] = dict(
            dispute["payment_method_details"],
            card=dict(dispute["payment_method_details"]["card"], case_type="chargeback"),
        )
        intent["_disputed"] = True
        store.put(P, "payment_intent", intent["id"], intent)
        store.put(P, "dispute", dispute_id, dispute)
        emit(intent["_account"], "charge.dispute.created", dispute)
        emit(intent["_account"], "charge.dispute.funds_withdrawn", dispute)
    return JsonResponse(_public(dispute))


@sandbox_view
def update_dispute(request: HttpRequest, dispute_id: str) -> HttpResponse:
    """What happens next: POST `status=under_review` (the merchant answered), `won` or
    `lost` (the card network decided: `charge.dispute.closed`, and for a win the money back,
    `charge.dispute.funds_reinstated`)."""
    status = request.POST.get("status", "")
    if status not in ("under_review", "won", "lost"):
        return error(400, "invalid_request_error", "status is under_review, won or lost")
    with transaction.atomic():
        dispute = store.get_for_update(P, "dispute", dispute_id)
        if dispute is None:
            return error(404, "invalid_request_error", f"No such dispute: '{dispute_id}'")
        if dispute["status"] in ("won", "lost"):
            return JsonResponse(_public(dispute))
        before = dispute["status"]
        dispute["status"] = status
        store.put(P, "dispute", dispute_id, dispute)
        account = dispute["_account"]
        if status == "under_review":
            emit(account, "charge.dispute.updated", dispute, previous={"status": before})
        else:
            emit(account, "charge.dispute.closed", dispute, previous={"status": before})
            if status == "won":
                emit(account, "charge.dispute.funds_reinstated", dispute)
    return JsonResponse(_public(dispute))
