"""The Refund dialog of the order panel (SPEC F5), and settling a refund left pending."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from orderdesk.lib import formats
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order
from orderdesk.payments.models import Refund
from orderdesk.payments.refunds import (
    RefundError,
    RefundKeyReused,
    check_refund,
    confirm_refund,
    handle_reversed_refund,
    refund_notice,
    refund_options,
    refund_order,
)
from orderdesk.web.http import StaffRequest
from orderdesk.web.refund_form import (
    RefundConfirmationForm,
    RefundDialog,
    RefundForm,
    ReversalDecisionForm,
    blank_dialog,
    posted_dialog,
)
from orderdesk.web.views.orders import order_updated_response
from orderdesk.workflows.lookup import get_order_for_member

TEMPLATE = "web/orders/refund.html"


def _render(request: StaffRequest, dialog: RefundDialog, *, status: int) -> HttpResponse:
    template = TEMPLATE if not request.htmx else f"{TEMPLATE}#dialog"
    return render(request, template, {"dialog": dialog, "order": dialog.order}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def order_refund(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number, acting=True)
    options = refund_options(order)
    if request.method == "GET":
        dialog = blank_dialog(options)
        return _render(request, dialog, status=200 if options.refundable else 400)

    form = RefundForm(options, request.POST)
    if not form.is_valid():
        return _render(request, posted_dialog(form), status=400)
    try:
        # A resubmitted form (double click, retry) answers with the refund it already made.
        answer = refund_order(
            order,
            form.refund_request(),
            actor=Actor.of_user(request.user),
            idempotency_key=form.cleaned_data["key"],
        )
    except RefundKeyReused as reused:
        # Nothing was written: start over on a new form that shows the first refund's effect.
        dialog = blank_dialog(refund_options(order), error=_reused(reused.refund))
        return _render(request, dialog, status=409)
    except RefundError as error:
        dialog = posted_dialog(form)
        dialog.add_errors(error.field_errors)
        return _render(request, dialog, status=400)
    return _done(request, order, answer.refund)


def _reused(refund: Refund) -> str:
    amount = formats.money(refund.amount_minor, refund.currency)
    return _(
        "This form already made a refund of %(amount)s with other amounts or options, so "
        "nothing more was refunded. To refund more, fill in this new form."
    ) % {"amount": amount}


def _done(request: StaffRequest, order: Order, refund: Refund) -> HttpResponse:
    if not request.htmx:
        return redirect(reverse("order_detail", args=[order.number]))
    notice = refund_notice(refund)
    response = order_updated_response(request, order, message=notice.message, tone=notice.tone)
    # The dialog posted into itself; success replaces the whole panel instead.
    response["HX-Retarget"] = "#panel"
    response["HX-Reswap"] = "innerHTML"
    return response


def _pending_refund(request: StaffRequest, number: int, refund_id: int) -> tuple[Order, Refund]:
    order = get_order_for_member(request.access, number, acting=True)
    return order, get_object_or_404(Refund, pk=refund_id, order=order)


def _settled(request: StaffRequest, order: Order, refund: Refund) -> HttpResponse:
    if not request.htmx:
        return redirect(reverse("order_detail", args=[order.number]))
    notice = refund_notice(refund)
    return order_updated_response(request, order, message=notice.message, tone=notice.tone)


def _refused(request: StaffRequest, order: Order, message: str) -> HttpResponse:
    if not request.htmx:
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    return order_updated_response(request, order, error=message, status=400)


@login_required
@require_POST
def check_pending_refund(request: StaffRequest, number: int, refund_id: int) -> HttpResponse:
    """ "Check now": ask the provider about one pending refund and show what it said."""
    order, refund = _pending_refund(request, number, refund_id)
    try:
        refund = check_refund(refund)
    except RefundError as error:
        return _refused(request, order, error.message)
    return _settled(request, order, refund)


@login_required
@require_POST
def confirm_pending_refund(request: StaffRequest, number: int, refund_id: int) -> HttpResponse:
    """Staff say whether a provider without a status API refunded a pending refund."""
    order, refund = _pending_refund(request, number, refund_id)
    form = RefundConfirmationForm(request.POST)
    if not form.is_valid():
        return _refused(request, order, _("Say whether the provider refunded it."))
    try:
        refund = confirm_refund(
            refund, refunded=form.cleaned_data["refunded"], actor=Actor.of_user(request.user)
        )
    except RefundError as error:
        return _refused(request, order, error.message)
    return _settled(request, order, refund)


@login_required
@require_POST
def handle_reversal(request: StaffRequest, number: int, refund_id: int) -> HttpResponse:
    """Staff decide about the access a refund removed that the provider then reversed."""
    order, refund = _pending_refund(request, number, refund_id)
    form = ReversalDecisionForm(request.POST)
    if not form.is_valid():
        return _refused(request, order, _("Say whether to restore the access."))
    restore = form.cleaned_data["restore"]
    try:
        handle_reversed_refund(refund, restore=restore, by=request.user)
    except RefundError as error:
        return _refused(request, order, error.message)
    if not request.htmx:
        return redirect(reverse("order_detail", args=[order.number]))
    message = _("Access is being restored.") if restore else _("The reversed refund is handled.")
    return order_updated_response(request, order, message=message)
