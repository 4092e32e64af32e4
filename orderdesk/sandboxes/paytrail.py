"""A Paytrail sandbox: signed requests and responses, hosted payment page, redirects,
callbacks, refunds with callbacks, and 422 for banks without API refunds.

Every request is checked against Paytrail's published OpenAPI document (`openapi.py`, the
copy in `provider_specs/paytrail/`) and the README's rules the document leaves out, and
refused with 400 in Paytrail's error shape, as Paytrail would.
"""

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

from orderdesk.lib.urls import query_url
from orderdesk.payments.models import ProviderAccount
from orderdesk.payments.providers.paytrail import calculate_signature
from orderdesk.sandboxes import deliveries, openapi, store
from orderdesk.sandboxes.store import sandbox_view

P = "paytrail"
# Paytrail's published test merchants (providers.md §2.2).
MERCHANTS = {"375917": "SAIPPUAKAUPPIAS", "695861": "MONISAIPPUAKAUPPIAS"}
# Shop-in-Shop aggregate merchants and their sub-merchants (README "Test credentials").
SHOP_IN_SHOP = {"695861": frozenset({"695874"})}
# README "Authentication": the headers every request carries.
REQUIRED_HEADERS = (
    "checkout-account",
    "checkout-algorithm",
    "checkout-method",
    "checkout-nonce",
    "checkout-timestamp",
    "signature",
)
# "The same transaction ID as in route", for single-transaction calls.
TRANSACTION_HEADERS = (*REQUIRED_HEADERS, "checkout-transaction-id")
# The 400 answer's documented description (OpenAPI `responses.BadRequest`).
INVALID = "Request did not pass input validation"

openapi.prepare(P)
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


def _error(
    request: HttpRequest, status: int, message: str, meta: list[str] | None = None
) -> HttpResponse:
    """Paytrail's error shape (OpenAPI `Error`): status, message and detailed `meta` lines."""
    body: dict[str, Any] = {"status": "error", "message": message}
    if meta:
        body["meta"] = meta
    return _signed(request, body, status)


def _invalid(
    request: HttpRequest,
    path: str,
    *,
    required_headers: tuple[str, ...],
    path_params: dict[str, str] | None = None,
) -> HttpResponse | None:
    """400 with what the request breaks of the published document; None when it is valid."""
    errors = openapi.request_errors(
        P,
        path,
        request.method or "",
        headers=dict(request.headers),
        path_params=path_params,
        body=request.body,
        required_headers=required_headers,
    )
    return _error(request, 400, INVALID, errors) if errors else None


def shop_in_shop_merchants(merchant: str) -> frozenset[str]:
    """The sub-merchants of a Shop-in-Shop aggregate; empty for a normal merchant.

    The sandbox's built-in test aggregate, or any Orderdesk account set up as one (the
    sandbox stands in for Paytrail's merchant registry)."""
    if merchant in SHOP_IN_SHOP:
        return SHOP_IN_SHOP[merchant]
    return frozenset(
        ProviderAccount.objects.filter(provider=P, account_id=merchant)
        .exclude(paytrail_shop_in_shop_merchant="")
        .values_list("paytrail_shop_in_shop_merchant", flat=True)
    )


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
    invalid = _invalid(request, "/payments", required_headers=REQUIRED_HEADERS)
    if invalid is not None:
        return invalid
    fault = store.take_fault(P, "payments.create")
    if fault == "500":
        return _error(request, 500, "Sandbox: internal error")
    body = json.loads(request.body)
    stamp, amount, redirect = str(body["stamp"]), body["amount"], body["redirectUrls"]
    items = body.get("items") or []
    problems = _payment_problems(merchant, amount, items)
    if problems:
        return _error(request, 400, INVALID, problems)
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


def _payment_problems(merchant: str, amount: int, items: list[dict[str, Any]]) -> list[str]:
    """The README's rules on a payment that the document's schemas cannot say."""
    problems = []
    if amount < 1 or amount > 99999998:
        # README "Create payment": amount "Must be over 0", maximum 99999998.
        problems.append("amount: must be between 1 and 99999998")
    if items and sum(i["unitPrice"] * i["units"] for i in items) != amount:
        problems.append("amount: does not match the sum of items")
    sub_merchants = shop_in_shop_merchants(merchant)
    if sub_merchants:
        # README "Item": items, and their merchant, stamp and reference, are required for
        # Shop-in-Shop payments; "Aggregate merchant cannot be used in items".
        if not items:
            problems.append("items: required for Shop-in-Shop payments")
        for n, item in enumerate(items):
            missing = [f for f in ("merchant", "stamp", "reference") if not item.get(f)]
            if missing:
                problems.append(f"items.{n}: {', '.join(missing)} required for Shop-in-Shop")
            elif item["merchant"] not in sub_merchants:
                problems.append(f"items.{n}.merchant: not a sub-merchant of {merchant}")
    else:
        for n, item in enumerate(items):
            if "merchant" in item or "commission" in item:
                # OpenAPI `Item.merchant`: "leave out from normal payments".
                problems.append(f"items.{n}: merchant and commission are for Shop-in-Shop only")
    return problems


@sandbox_view
def payment(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """GET /payments/{id}: a payment or a refund transaction."""
    if _authenticate(request, transaction_id) is None:
        return _error(request, 401, "Invalid signature or unknown merchant")
    invalid = _invalid(
        request,
        "/payments/{transactionId}",
        required_headers=TRANSACTION_HEADERS,
        path_params={"transactionId": transaction_id},
    )
    if invalid is not None:
        return invalid
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
                url=query_url(callback, query),
                description=f"payment {found['status']} {transaction_id}",
            )
    return HttpResponseRedirect(query_url(found["redirectUrls"][outcome], query))


@sandbox_view
def refund(request: HttpRequest, transaction_id: str) -> HttpResponse:
    """POST /payments/{id}/refund."""
    if request.method != "POST":
        return _error(request, 405, "Method not allowed")
    merchant = _authenticate(request, transaction_id)
    if merchant is None:
        return _error(request, 401, "Invalid signature or unknown merchant")
    invalid = _invalid(
        request,
        "/payments/{transactionId}/refund",
        required_headers=TRANSACTION_HEADERS,
        path_params={"transactionId": transaction_id},
    )
    if invalid is not None:
        return invalid
    fault = store.take_fault(P, "refund")
    if fault == "500":
        return _error(request, 500, "Sandbox: internal error")
    body = json.loads(request.body)
    callbacks = body["callbackUrls"]
    items = body.get("items") or []
    with transaction.atomic():
        paid = store.get_for_update(P, "payment", transaction_id)
        if paid is None or paid["merchant"] != merchant:
            return _error(request, 404, "Payment not found")
        problems = _refund_problems(merchant, paid, body.get("amount"), items)
        if problems:
            return _error(request, 400, INVALID, problems)
        amount = int(body["amount"]) if "amount" in body else sum(i["amount"] for i in items)
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


def _refund_problems(
    merchant: str, paid: dict[str, Any], amount: int | None, items: list[dict[str, Any]]
) -> list[str]:
    """The README's rules on a refund that the document's schemas cannot say.

    A normal merchant refunds an `amount` ("Required for normal payment refunds"); refund
    `items` are Shop-in-Shop's ("Item level refund information for SiS refunds"; that a normal
    merchant's items are refused is our reading, the README shows none). A Shop-in-Shop
    aggregate refunds items, or the whole payment by its amount alone; with items, the
    amount must be their sum (Paytrail's PHP SDK refuses anything else) and each item names
    a stamp and reference the payment had.
    """
    if not shop_in_shop_merchants(merchant):
        problems = [] if amount is not None else ["amount: required for normal payment refunds"]
        if items:
            problems.append("items: only for Shop-in-Shop refunds")
        return problems
    if not items:
        if amount != paid["amount"] or paid["refunded"]:
            return ["items: required unless refunding the whole payment by its amount"]
        return []
    problems = []
    if amount is not None and amount != sum(i["amount"] for i in items):
        problems.append("amount: does not match the sum of items")
    sold = {(i.get("stamp"), i.get("reference")): i for i in paid["items"]}
    for n, item in enumerate(items):
        if (item["stamp"], item["reference"]) not in sold:
            problems.append(f"items.{n}: no item of the payment has this stamp and reference")
    return problems


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
        url=query_url(url, query),
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
