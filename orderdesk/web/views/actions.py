"""Staff actions on an order: Re-run one of its post-purchase actions, Mark as Completed
(SPEC F4), retry a failed access removal (SPEC F5), Mark as paid (an invoice received)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from orderdesk.actions import services
from orderdesk.actions.forms import ReceiptForm
from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.orders.events import Actor
from orderdesk.orders.models import OrderStatus
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.payments.refunds import RefundError
from orderdesk.payments.services import MarkPaidRefused, mark_as_paid
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.orders import order_updated_response
from orderdesk.workflows import completion
from orderdesk.workflows.lookup import get_order_for_member

RESEND_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _respond(request: StaffRequest, number: int, response: HttpResponse) -> HttpResponse:
    if request.htmx:
        return response
    return HttpResponseRedirect(reverse("order_detail", args=[number]))


def _on_action(
    request: StaffRequest,
    number: int,
    snapshot_id: int,
    verb: Callable[..., ActionRun | None],
    queued: StrPromise,
    nothing: StrPromise,
) -> HttpResponse:
    """Run `verb` on one of the order's actions as the user; answer with the fresh panel."""
    order = get_order_for_member(request.access, number, acting=True)
    snapshot = get_object_or_404(ActionSnapshot, pk=snapshot_id, order=order)
    run = verb(snapshot, by=request.user)
    message = str(queued if run else nothing) % {"action": snapshot}
    return _respond(request, number, order_updated_response(request, order, message=message))


@login_required
@require_POST
def rerun_action(request: StaffRequest, number: int, snapshot_id: int) -> HttpResponse:
    return _on_action(
        request,
        number,
        snapshot_id,
        services.rerun_action,
        queued=gettext_lazy("Re-run queued: %(action)s"),
        nothing=gettext_lazy("%(action)s has nothing to re-run"),
    )


@login_required
@require_POST
def retry_access_removal(request: StaffRequest, number: int, snapshot_id: int) -> HttpResponse:
    return _on_action(
        request,
        number,
        snapshot_id,
        services.retry_access_removal,
        queued=gettext_lazy("Removing access queued again: %(action)s"),
        nothing=gettext_lazy("%(action)s has no failed access removal to retry"),
    )


@login_required
@require_POST
def mark_completed(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number, acting=True)
    try:
        order = completion.mark_completed(
            order,
            use_latest_config=request.POST.get("use_latest_config") == "on",
            restore_refunds=request.POST.get("restore_refunded_data") == "on",
            by=request.user,
        )
    except (TransitionNotAllowed, RefundError) as exc:
        response = order_updated_response(request, order, error=str(exc), status=400)
        return _respond(request, number, response)
    message = _("Marked as completed")
    if order.status == OrderStatus.PARTIALLY_REFUNDED:
        message = _("Marked as completed: the order stays Partially Refunded, its refunds kept")
    response = order_updated_response(request, order, message=message)
    return _respond(request, number, response)


@login_required
@require_POST
def mark_paid(request: StaffRequest, number: int) -> HttpResponse:
    """Staff confirm that an invoice or a bank transfer was paid."""
    order = get_order_for_member(request.access, number, acting=True)
    try:
        attempt = mark_as_paid(order, actor=Actor.of_user(request.user))
    except MarkPaidRefused as refused:
        response = order_updated_response(request, order, error=refused.message, status=400)
        return _respond(request, number, response)
    values = {"who": attempt.confirmed_by or _("its provider")}
    message = _("Marked as paid by %(who)s") % values
    if attempt.order.action_health != "none":
        message = _("Marked as paid by %(who)s: its post-purchase actions are running") % values
    response = order_updated_response(request, attempt.order, message=message)
    return _respond(request, number, response)


@login_required
@require_http_methods(["GET", "POST"])
def resend_email(request: StaffRequest, number: int, snapshot_id: int) -> HttpResponse:
    """Send an email action's email again: GET shows what would be sent (composed only when
    asked, not with every panel), POST sends it; the dialog's key makes a double click send
    once."""
    order = get_order_for_member(request.access, number, acting=True)
    snapshot = get_object_or_404(ActionSnapshot, pk=snapshot_id, order=order)
    snapshot.order = order  # its preview reads the order: no second query for it
    if request.method == "GET":
        if not services.can_resend(snapshot):
            raise Http404("This action has no email to resend.")
        context = {
            "order": order,
            "snapshot": snapshot,
            "preview": services.email_preview(snapshot),
        }
        return render(request, "web/orders/_resend_email.html", context)
    key = str(request.POST.get("key", ""))
    if not RESEND_KEY.fullmatch(key):
        response = order_updated_response(
            request, order, error=_("This form is out of date: open Resend again."), status=400
        )
        return _respond(request, number, response)
    run = services.resend_email(snapshot, key=key, by=request.user)
    message = (_("Resend queued: %(action)s") if run else _("%(action)s: nothing new to send")) % {
        "action": snapshot
    }
    return _respond(request, number, order_updated_response(request, order, message=message))


@login_required
@require_http_methods(["GET", "POST"])
def send_receipt(request: StaffRequest, number: int) -> HttpResponse:
    """The receipt of an order that has no receipt action: GET shows what would be sent (in
    the chosen language), POST sends it once per dialog key."""
    order = get_order_for_member(request.access, number, acting=True)
    if request.method == "POST":
        form = ReceiptForm(request.POST)
        if not form.is_valid() or not form.cleaned_data["key"]:
            error = _("This form is out of date: open Send receipt again.")
            response = order_updated_response(request, order, error=error, status=400)
            return _respond(request, number, response)
        try:
            run = services.send_receipt(
                order,
                language=form.cleaned_data["language"],
                key=form.cleaned_data["key"],
                by=request.user,
            )
        except services.ReceiptRefused as refused:
            response = order_updated_response(request, order, error=refused.message, status=400)
            return _respond(request, number, response)
        message = _("Receipt queued to %(email)s") if run else _("The receipt was sent already")
        response = order_updated_response(
            request, order, message=message % {"email": order.customer_email}
        )
        return _respond(request, number, response)
    language = translation.get_language() or "en"
    form = ReceiptForm(request.GET if "language" in request.GET else {"language": language})
    if not form.is_valid():
        form = ReceiptForm({"language": "en"})
        form.is_valid()
    preview = services.receipt_preview(order, language=form.cleaned_data["language"])
    context = {"order": order, "form": form, "preview": preview}
    return render(request, "web/orders/_send_receipt.html", context)
