"""Provider notifications: verify, store once, apply, answer the way each provider expects.

A bad signature or body gets 400 and changes nothing; a replay gets 200 and changes nothing;
an unknown order is recorded and answered 2xx so the provider stops retrying.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from orderdesk.lib.urls import query_url
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import PaymentAttempt
from orderdesk.payments.providers.base import InvalidNotification, ProviderError, ProviderEvent
from orderdesk.payments.providers.epassi import Epassi
from orderdesk.payments.providers.paytrail import Paytrail
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.services import Received, receive_notification

logger = logging.getLogger(__name__)


def _rejected(provider: str, checkout_id: int, error: Exception) -> HttpResponse:
    logger.warning("Rejected %s notification for checkout %s: %s", provider, checkout_id, error)
    return JsonResponse({"error": str(error)}, status=400)


def _answer(received: Received) -> JsonResponse:
    n = received.notification
    return JsonResponse(
        {"received": n.event_id, "replay": received.is_replay, "outcome": n.outcome}
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, checkout_id: int) -> HttpResponse:
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    try:
        event = get_provider("stripe", checkout).parse_notification(request)
    except (InvalidNotification, ProviderError) as error:
        return _rejected("stripe", checkout_id, error)
    return _answer(receive_notification(checkout=checkout, provider="stripe", event=event))


def _paytrail(checkout_id: int) -> tuple[Checkout, Paytrail]:
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    adapter = get_provider("paytrail", checkout)
    assert isinstance(adapter, Paytrail)
    return checkout, adapter


@csrf_exempt
@require_GET
def paytrail_callback(request: HttpRequest, checkout_id: int) -> HttpResponse:
    """Server-to-server GET; Paytrail wants a 2xx and may call more than once."""
    return _paytrail_callback(request, checkout_id, refund=False)


@csrf_exempt
@require_GET
def paytrail_refund_callback(request: HttpRequest, checkout_id: int) -> HttpResponse:
    return _paytrail_callback(request, checkout_id, refund=True)


def _paytrail_callback(request: HttpRequest, checkout_id: int, *, refund: bool) -> HttpResponse:
    try:
        checkout, adapter = _paytrail(checkout_id)
        parse = adapter.parse_refund_callback if refund else adapter.parse_notification
        event = parse(request)
    except (InvalidNotification, ProviderError) as error:
        return _rejected("paytrail", checkout_id, error)
    return _answer(receive_notification(checkout=checkout, provider="paytrail", event=event))


@require_GET
def paytrail_redirect(request: HttpRequest, checkout_id: int, outcome: str) -> HttpResponse:
    """The customer's browser coming back: applied like the callback, then a page for them."""
    try:
        checkout, adapter = _paytrail(checkout_id)
        event = adapter.parse_notification(request)
    except (InvalidNotification, ProviderError) as error:
        logger.warning("Rejected Paytrail redirect for checkout %s: %s", checkout_id, error)
        return _result_page(request, None, ok=False, status=400)
    receive_notification(checkout=checkout, provider="paytrail", event=event)
    return _result_page(request, event, ok=event.kind == "payment_succeeded", checkout=checkout)


@csrf_exempt
@require_POST
def epassi_return(request: HttpRequest, checkout_id: int) -> HttpResponse:
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    try:
        event = get_provider("epassi", checkout).parse_notification(request)
    except (InvalidNotification, ProviderError) as error:
        logger.warning("Rejected Epassi return for checkout %s: %s", checkout_id, error)
        return _result_page(request, None, ok=False, status=400)
    receive_notification(checkout=checkout, provider="epassi", event=event)
    return _result_page(request, event, ok=True, checkout=checkout)


@require_GET
def epassi_no_payment(
    request: HttpRequest, checkout_id: int, stamp: str, token: str, outcome: str
) -> HttpResponse:
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    try:
        adapter = get_provider("epassi", checkout)
        assert isinstance(adapter, Epassi)
        event = adapter.parse_return_without_payment(
            request, stamp=stamp, token=token, outcome=outcome
        )
    except (InvalidNotification, ProviderError) as error:
        logger.warning("Rejected Epassi %s for checkout %s: %s", outcome, checkout_id, error)
        return _result_page(request, None, ok=False, status=400)
    receive_notification(checkout=checkout, provider="epassi", event=event)
    return _result_page(request, event, ok=False, checkout=checkout)


def _result_page(
    request: HttpRequest,
    event: ProviderEvent | None,
    *,
    ok: bool,
    checkout: Checkout | None = None,
    status: int = 200,
) -> HttpResponse:
    """What the customer sees on returning from the provider's page: the checkout's own page
    when it gave one as the payment started (with `redirect_status` as Stripe.js's
    return_url has it), else ours."""
    attempt = None
    if event is not None and event.stamp and checkout is not None:
        attempt = (
            PaymentAttempt.objects.filter(stamp=event.stamp, order__checkout=checkout)
            .select_related("order")
            .first()
        )
    if attempt is not None and attempt.return_url:
        outcome = "succeeded" if ok else "failed"
        return HttpResponseRedirect(query_url(attempt.return_url, {"redirect_status": outcome}))
    return render(
        request,
        "payments/payment_result.html",
        {"ok": ok, "attempt": attempt, "invalid": event is None},
        status=status,
    )
