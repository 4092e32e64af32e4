"""The Refund dialog of the order panel (SPEC F5)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from orderdesk.lib.money import format_money
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.refunds import RefundError, refund_order, scoped_key, valid_key
from orderdesk.web import refund_form
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.orders import order_updated_response
from orderdesk.workflows.lookup import get_order_for_member

TEMPLATE = "web/orders/refund.html"


def _render(request: StaffRequest, form: refund_form.RefundForm, *, status: int) -> HttpResponse:
    template = TEMPLATE if not request.htmx else f"{TEMPLATE}#dialog"
    return render(request, template, {"form": form, "order": form.order}, status=status)


def _outcome(refund: Refund) -> str:
    amount = format_money(refund.amount_minor, refund.currency)
    provider = refund.payment_attempt.get_provider_display() if refund.payment_attempt else ""
    if refund.status == RefundStatus.SUCCEEDED:
        return f"Refund of {amount} succeeded through {provider}."
    if refund.status == RefundStatus.PENDING:
        note = f" ({refund.failure_message})" if refund.failure_message else ""
        return f"Refund of {amount} sent to {provider}, waiting for its confirmation{note}."
    if refund.status == RefundStatus.RECORDED:
        return f"Refund of {amount} recorded. {refund.recorded_only_reason}"
    return f"Refund of {amount} failed: {refund.failure_message} Nothing else changed."


@login_required
@require_http_methods(["GET", "POST"])
def order_refund(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number, acting=True)
    if request.method == "POST":
        # A resubmitted form (double click, retry) answers with the refund it already made.
        key = request.POST.get("key", "")
        # Only a well-formed key is looked up: a stray NUL would make PostgreSQL fail.
        done = (
            Refund.objects.filter(idempotency_key=scoped_key(order, key)).first()
            if valid_key(key)
            else None
        )
        if done is not None:
            return _done(request, order, done)
    form = refund_form.refund_form(order)
    if order.status not in OrderStatus.REFUNDABLE:
        form.errors.append(f"A {order.get_status_display()} order cannot be refunded.")
        return _render(request, form, status=400)
    if request.method == "GET":
        return _render(request, form, status=200)

    refund_form.read(form, request.POST)
    if form.has_errors:
        return _render(request, form, status=400)
    try:
        refund = refund_order(
            order,
            amounts=form.amounts,
            via_provider=form.refund_payments,
            remove_access_line_ids=form.remove_access_line_ids,
            remove_offer_access=form.remove_offer_access,
            reason=form.reason,
            actor=Actor.of_user(request.user),
            idempotency_key=form.key,
        )
    except RefundError as error:
        form.add_errors(error.field_errors)
        return _render(request, form, status=400)
    return _done(request, order, refund)


def _done(request: StaffRequest, order: Order, refund: Refund) -> HttpResponse:
    if not request.htmx:
        return redirect(reverse("order_detail", args=[order.number]))
    response = order_updated_response(request, order, message=_outcome(refund))
    # The dialog posted into itself; success replaces the whole panel instead.
    response["HX-Retarget"] = "#panel"
    response["HX-Reswap"] = "innerHTML"
    return response
