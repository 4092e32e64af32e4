"""A Paytrail sandbox: signed requests and responses, hosted payment page, redirects,
callbacks, refunds with callbacks, and 422 for banks without API refunds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from orderdesk.payments.providers.paytrail import calculate_signature
from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.store import sandbox_view

P = "paytrail"
# Paytrail's published test merchants (providers.md §2.2).
MERCHANTS = {"375917": "SAIPPUAKAUPPIAS", "695861": "MONISAIPPUAKAUPPIAS"}
PROVIDERS = [
    ("osuuspankki", "OP", "bank"),
    ("nordea", "Nordea", "bank"),
    ("spankki", "S-Pankki", "bank"),
    ("alandsbanken", "Ålandsbanken", "bank"),
    ("creditcard", "Visa / Mastercard", "creditcard"),
    ("mobilepay", "MobilePay", "mobile"),
]
EMAIL_REFUND_ONLY = frozenset({"spankki", "alandsbanken"})


def _signed(request: HttpRequest, data: dict[str, Any], status: int = 200) -> HttpResponse:
    """A JSON response signed the way Paytrail signs its responses."""
    account = request.headers.get("checkout-account", "")
    secret = store.merchant_secret(P, account, MERCHANTS) or ""
    body = json.dumps(data, separators=(",", ":"))
    headers = {
        "checkout-account": account,
        "checkout-algorithm": "sha256",
        "checkout-timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "checkout-nonce": uuid.uuid4().hex,
    }
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    response["request-id"] = uuid.uuid4().hex
    if secret:
        response["signature"] = calculate_signature(headers, body, secret)
    return response


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return _signed(request, {"status": "error", "message": message}, status)


def _authenticate(request: HttpRequest, transaction_id: str = "") -> str | None:
    """The merchant id when the request's HMAC checks out; None otherwise."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    secret = store.merchant_secret(P, headers.get("checkout-account", ""), MERCHANTS)
    algorithm = headers.get("checkout-algorithm", "")
    if secret is None or algorithm not in ("sha256", "sha512"):
        return None
    if headers.get("checkout-method") != request.method:
        return None
    if transaction_id and headers.get("checkout-transaction-id") != transaction_id:
        return None
    try:
        expected = calculate_signature(headers, request.body.decode(), secret, algorithm)
    except ValueError:
        return None
    if expected != headers.get("signature"):
        return None
    return headers["checkout-account"]


def _absolute(name: str, *args: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse(f'sandboxes:{name}', args=args)}"


def _signed_query(merchant: str, params: dict[str, str]) -> dict[str, str]:
    query = {"checkout-account": merchant, "checkout-algorithm": "sha256", **params}
    query["signature"] = calculate_signature(
        query, "", store.merchant_secret(P, merchant, MERCHANTS) or ""
    )
    return query


def payment_object(
    transaction_id: str,
    *,
    merchant: str,
    stamp: str,
    reference: str,
    amount: int,
    items: list[dict[str, Any]],
    redirect_urls: dict[str, str],
    callback_urls: dict[str, str],
    created_at: datetime,
) -> dict[str, Any]:
    """A new payment as the sandbox stores it, waiting for the customer to pick a bank."""
    return {
        "transactionId": transaction_id,
        "merchant": merchant,
        "stamp": stamp,
        "reference": reference,
        "amount": amount,
        "currency": "EUR",
        "status": "new",
        "provider": None,
        "items": items,
        "redirectUrls": redirect_urls,
        "callbackUrls": callback_urls,
        "refunded": 0,
        "createdAt": created_at.isoformat(),
    }


def refund_object(
    refund_id: str,
    paid: dict[str, Any],
    *,
    refund_stamp: str,
    refund_reference: str,
    amount: int,
    status: str,
    callback_urls: dict[str, str],
) -> dict[str, Any]:
    """A refund of payment `paid` as the sandbox stores it; the caller counts it on `paid`."""
    return {
        "transactionId": refund_id,
        "payment": paid["transactionId"],
        "merchant": paid["merchant"],
        "refundStamp": refund_stamp,
        "refundReference": refund_reference,
        "amount": amount,
        "status": status,
        "provider": paid["provider"],
        "callbackUrls": callback_urls,
        "currency": "EUR",
    }


@sandbox_view
def payments(request: HttpRequest) -> HttpResponse:
    """POST /payments: create a payment."""
    if request.method != "POST":
        return _error(request, 405, "Method not allowed")
    merchant = _authenticate(request)
    if merchant is None:
        return _error(request, 401, "Invalid signature or unknown merchant")
    fault = store.take_fault(P, "payments.create")
    if fault == "500":
        return _error(request, 500, "Sandbox: internal error")
    try:
        body = json.loads(request.body)
        stamp, amount = str(body["stamp"]), body["amount"]
        redirect = body["redirectUrls"]
        missing = [f for f in ("reference", "currency", "language") if not body.get(f)]
        if missing or not body.get("customer", {}).get("email"):
            raise KeyError(", ".join(missing) or "customer.email")
        if not isinstance(amount, int) or not 0 < amount <= 99999998:
            raise ValueError("amount must be a positive integer")
        if body["currency"] != "EUR":
            raise ValueError("currency must be EUR")
        items = body.get("items") or []
        if items and sum(i["unitPrice"] * i["units"] for i in items) != amount:
            raise ValueError("amount does not match the sum of items")
    except (ValueError, KeyError, TypeError) as error:
        return _error(request, 400, f"Invalid request: {error}")
    with transaction.atomic():
        if store.find(P, "payment", merchant=merchant, stamp=stamp):
            return _error(request, 400, "Duplicate stamp")
        transaction_id = str(uuid.uuid4())
        store.put(
            P,
            "payment",
            transaction_id,
            payment_object(
                transaction_id,
                merchant=merchant,
                stamp=stamp,
                reference=body["reference"],
                amount=amount,
                items=items,
                redirect_urls=redirect,
                callback_urls=body.get("callbackUrls") or {},
                created_at=datetime.now(UTC),
            ),
        )
    href = _absolute("paytrail-pay", transaction_id)
    response = _signed(
        request,
        {
            "transactionId": transaction_id,
            "href": href,
            "reference": body["reference"],
            "terms": "Sandbox terms",
            "groups": [{"id": g, "name": g} for g in sorted({p[2] for p in PROVIDERS})],
            "providers": [
                {
                    "id": pid,
                    "name": name,
                    "group": group,
                    "url": href,
                    "icon": "",
                    "svg": "",
                    "parameters": [{"name": "provider", "value": pid}],
                }
                for pid, name, group in PROVIDERS
            ],
            "customProviders": {},
        },
        201,
    )
    if fault == "timeout":
        store.stall()
    return response


@sandbox_view
def payment(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """GET /payments/{id}: a payment or a refund transaction."""
    if _authenticate(request, transaction_id) is None:
        return _error(request, 401, "Invalid signature or unknown merchant")
    found = store.get(P, "payment", transaction_id) or store.get(P, "refund", transaction_id)
    if found is None:
        return _error(request, 404, "Payment not found")
    return _signed(request, {k: v for k, v in found.items() if k not in ("merchant",)})


@sandbox_view
def pay(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """The hosted page: choose a method (POST provider=…) to pay, or outcome=fail to cancel."""
    found = store.get(P, "payment", transaction_id)
    if found is None:
        return HttpResponse("Payment not found", status=404)
    if request.method != "POST":
        providers = [{"id": p, "name": n} for p, n, _ in PROVIDERS]
        return render(
            request, "sandboxes/paytrail_pay.html", {"payment": found, "providers": providers}
        )
    with transaction.atomic():
        found = store.get_for_update(P, "payment", transaction_id) or found
        if found["status"] == "new":
            provider = request.POST.get("provider", "osuuspankki")
            failed = request.POST.get("outcome") == "fail" or "provider" not in request.POST
            found.update(status="fail" if failed else "ok", provider=provider)
            if not failed:
                found["paidAt"] = datetime.now(UTC).isoformat()
            store.put(P, "payment", transaction_id, found)
        outcome = "success" if found["status"] == "ok" else "cancel"
        query = _signed_query(
            found["merchant"],
            {
                "checkout-amount": str(found["amount"]),
                "checkout-stamp": found["stamp"],
                "checkout-reference": found["reference"],
                "checkout-transaction-id": transaction_id,
                "checkout-status": found["status"],
                "checkout-provider": found["provider"] or "",
            },
        )
        callback = found["callbackUrls"].get(outcome)
        if callback:
            deliveries.queue(
                P,
                method="GET",
                url=deliveries.query_url(callback, query),
                description=f"payment {found['status']} {transaction_id}",
            )
    return HttpResponseRedirect(deliveries.query_url(found["redirectUrls"][outcome], query))


@sandbox_view
def refund(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/refund."""
    if request.method != "POST":
        return _error(request, 405, "Method not allowed")
    merchant = _authenticate(request, transaction_id)
    if merchant is None:
        return _error(request, 401, "Invalid signature or unknown merchant")
    fault = store.take_fault(P, "refund")
    if fault == "500":
        return _error(request, 500, "Sandbox: internal error")
    try:
        body = json.loads(request.body)
        callbacks = body["callbackUrls"]
        if not callbacks.get("success") or not callbacks.get("cancel"):
            raise KeyError("callbackUrls")
        items = body.get("items") or []
        amount = sum(int(i["amount"]) for i in items) if items else int(body["amount"])
        if amount < 1:
            raise ValueError("amount must be at least 1")
    except (ValueError, KeyError, TypeError) as error:
        return _error(request, 400, f"Invalid request: {error}")
    with transaction.atomic():
        paid = store.get_for_update(P, "payment", transaction_id)
        if paid is None or paid["merchant"] != merchant:
            return _error(request, 404, "Payment not found")
        refund_stamp = str(body.get("refundStamp") or uuid.uuid4())
        for earlier in store.find(P, "refund", payment=transaction_id, refundStamp=refund_stamp):
            # The same refundStamp again: answer as before, refund nothing more.
            return _signed(
                request,
                {
                    "transactionId": earlier["transactionId"],
                    "provider": paid["provider"],
                    "status": earlier["status"],
                },
                201,
            )
        if paid["status"] != "ok":
            return _error(request, 400, "Payment is not paid")
        if paid["provider"] in EMAIL_REFUND_ONLY and not body.get("email"):
            return _error(request, 422, f"Provider {paid['provider']} does not support refunds")
        if amount > paid["amount"] - paid["refunded"]:
            return _error(request, 400, "Refund amount exceeds the amount left to refund")
        refund_id = str(uuid.uuid4())
        status = "pending" if fault == "pending" else "ok"
        paid["refunded"] += amount
        store.put(P, "payment", transaction_id, paid)
        store.put(
            P,
            "refund",
            refund_id,
            refund_object(
                refund_id,
                paid,
                refund_stamp=refund_stamp,
                refund_reference=str(body.get("refundReference", "")),
                amount=amount,
                status=status,
                callback_urls=callbacks,
            ),
        )
        if status == "ok":
            _refund_callback(refund_id)
    response = _signed(
        request, {"transactionId": refund_id, "provider": paid["provider"], "status": status}, 201
    )
    if fault == "timeout":
        store.stall()
    return response


def _refund_callback(refund_id: str) -> None:
    found = store.get(P, "refund", refund_id)
    assert found is not None
    query = _signed_query(
        found["merchant"],
        {
            "checkout-amount": str(found["amount"]),
            "checkout-stamp": found["refundStamp"],
            "checkout-reference": found["refundReference"],
            "checkout-transaction-id": refund_id,
            "checkout-status": found["status"],
            "checkout-provider": found["provider"] or "",
        },
    )
    url = found["callbackUrls"]["success" if found["status"] == "ok" else "cancel"]
    deliveries.queue(
        P,
        method="GET",
        url=deliveries.query_url(url, query),
        description=f"refund {found['status']} {refund_id}",
    )


@sandbox_view
def settle_refund(request: HttpRequest, refund_id: str) -> HttpResponse:
    """Finish a pending refund: POST `outcome=ok|fail`; Paytrail then calls back."""
    with transaction.atomic():
        found = store.get_for_update(P, "refund", refund_id)
        if found is None:
            return JsonResponse({"status": "error", "message": "Refund not found"}, status=404)
        if found["status"] == "pending":
            found["status"] = "fail" if request.POST.get("outcome") == "fail" else "ok"
            if found["status"] == "fail":
                paid = store.get_for_update(P, "payment", found["payment"])
                assert paid is not None
                paid["refunded"] -= found["amount"]
                store.put(P, "payment", found["payment"], paid)
            store.put(P, "refund", refund_id, found)
            _refund_callback(refund_id)
    return JsonResponse({"transactionId": refund_id, "status": found["status"]})
