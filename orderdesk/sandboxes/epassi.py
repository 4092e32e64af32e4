"""An Epassi sandbox: the signed payment form, a pay/reject/cancel page, the signed return,
and the assumed full-refund (cancel) call of providers.md §3."""

from __future__ import annotations

import hmac
import secrets
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare

from orderdesk.lib.urls import query_url
from orderdesk.payments.providers.epassi import mac
from orderdesk.sandboxes import store
from orderdesk.sandboxes.store import sandbox_view

P = "epassi"
SITE = "77190"
KEY = "sandbox-epassi-mac-key"
SITES = {SITE: KEY}


@sandbox_view
def form(request: HttpRequest) -> HttpResponse:
    """POST /e_payments/v2: the browser brings the signed payment form."""
    if request.method != "POST":
        return HttpResponse("Use POST", status=405)
    fields = {
        k: request.POST.get(k, "")
        for k in ("STAMP", "SITE", "AMOUNT", "RETURN", "REJECT", "CANCEL", "MAC")
    }
    key = store.merchant_secret(P, fields["SITE"], SITES)
    error = ""
    if not all(fields[k] for k in ("STAMP", "SITE", "AMOUNT", "RETURN", "MAC")):
        error = "INVALID_REQUEST"
    elif key is None:
        error = "SITE_DOES_NOT_EXIST"
    elif not constant_time_compare(
        mac(fields["STAMP"], fields["SITE"], fields["AMOUNT"], key), fields["MAC"].lower()
    ):
        error = "INVALID_REQUEST_SIGNATURE"
    else:
        try:
            amount = Decimal(fields["AMOUNT"])
        except InvalidOperation:
            amount = Decimal(-1)
        if amount <= 0 or amount.as_tuple().exponent != -2:
            error = "INVALID_REQUEST"
    if error:
        if fields["REJECT"]:
            return HttpResponseRedirect(
                query_url(fields["REJECT"], {"stamp": fields["STAMP"], "error": error})
            )
        return HttpResponse(error, status=400)
    with transaction.atomic():
        payment = store.get_for_update(P, "payment", fields["STAMP"])
        if payment is None:
            payment = store.put(
                P, "payment", fields["STAMP"], {**fields, "status": "new", "PAID": ""}
            )
    return render(request, "sandboxes/epassi_pay.html", {"payment": payment})


@sandbox_view
def pay(request: HttpRequest, stamp: str) -> HttpResponse:
    """The customer's choice: POST outcome=ok|reject|cancel; then back to the shop."""
    if request.method != "POST":
        return HttpResponse("Use POST", status=405)
    outcome = request.POST.get("outcome", "ok")
    with transaction.atomic():
        payment = store.get_for_update(P, "payment", stamp)
        if payment is None:
            return HttpResponse("Payment not found", status=404)
        if payment["status"] == "new":
            payment["status"] = {"ok": "paid", "reject": "rejected"}.get(outcome, "cancelled")
            if payment["status"] == "paid":
                payment["PAID"] = str(secrets.randbelow(10**9))
            store.put(P, "payment", stamp, payment)
    if payment["status"] == "paid":
        fields = {
            "STAMP": stamp,
            "PAID": payment["PAID"],
            "MAC": mac(
                stamp, payment["PAID"], store.merchant_secret(P, payment["SITE"], SITES) or ""
            ),
        }
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"action": payment["RETURN"], "fields": fields})
        return render(
            request, "sandboxes/epassi_pay.html", {"post_to": payment["RETURN"], "fields": fields}
        )
    if payment["status"] == "rejected" and payment["REJECT"]:
        return HttpResponseRedirect(
            query_url(payment["REJECT"], {"stamp": stamp, "error": "INSUFFICIENT_FUNDS"})
        )
    return HttpResponseRedirect(query_url(payment["CANCEL"] or payment["RETURN"], {"stamp": stamp}))


@sandbox_view
def cancel(request: HttpRequest) -> HttpResponse:
    """POST /cancel: STAMP, SITE, AMOUNT (the full amount), MAC → {"status", "message"}."""
    if request.method != "POST":
        return JsonResponse({"status": "error", "message": "Use POST"}, status=405)
    fault = store.take_fault(P, "cancel")
    if fault == "500":
        return JsonResponse({"status": "error", "message": "Sandbox: internal error"}, status=500)
    stamp, site, amount, given = (
        request.POST.get(k, "") for k in ("STAMP", "SITE", "AMOUNT", "MAC")
    )
    key = store.merchant_secret(P, site, SITES)
    if key is None or not hmac.compare_digest(mac(stamp, site, amount, key), given.lower()):
        return JsonResponse({"status": "error", "message": "MAC signature is invalid"}, status=401)
    with transaction.atomic():
        payment = store.get_for_update(P, "payment", stamp)
        if payment is None or payment["SITE"] != site:
            return JsonResponse({"status": "error", "message": "Payment not found"}, status=404)
        if payment["status"] == "refunded":
            answer = {"status": "ok", "message": "Payment already cancelled"}
        elif payment["status"] != "paid":
            answer = {"status": "error", "message": "Payment is not paid"}
        elif amount != payment["AMOUNT"]:
            answer = {"status": "error", "message": "Only the full amount can be cancelled"}
        else:
            payment["status"] = "refunded"
            store.put(P, "payment", stamp, payment)
            answer = {"status": "ok", "message": "Payment cancelled"}
    response = JsonResponse(answer)
    if fault == "timeout":
        store.stall()
    return response
