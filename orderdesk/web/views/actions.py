"""Staff actions on an order's post-purchase actions: Re-run one, Mark as Completed (SPEC F4),
retry a failed access removal (SPEC F5)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from orderdesk.actions import services
from orderdesk.actions.models import ActionSnapshot
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.organizations.access import get_order_for_member, require_can_act
from orderdesk.organizations.models import User
from orderdesk.payments.refunds import RefundError
from orderdesk.web.views.orders import order_updated_response


def _respond(request: HttpRequest, number: int, response: HttpResponse) -> HttpResponse:
    if getattr(request, "htmx", False):
        return response
    return HttpResponseRedirect(reverse("order_detail", args=[number]))


@login_required
@require_POST
def rerun_action(request: HttpRequest, number: int, snapshot_id: int) -> HttpResponse:
    order = get_order_for_member(request, number)
    require_can_act(request, order)
    snapshot = get_object_or_404(ActionSnapshot, pk=snapshot_id, order=order)
    assert isinstance(request.user, User)
    run = services.rerun_action(snapshot, by=request.user)
    message = f"Re-run queued: {snapshot}" if run else f"{snapshot} has nothing to re-run"
    return _respond(request, number, order_updated_response(request, order, message=message))


@login_required
@require_POST
def retry_access_removal(request: HttpRequest, number: int, snapshot_id: int) -> HttpResponse:
    order = get_order_for_member(request, number)
    require_can_act(request, order)
    snapshot = get_object_or_404(ActionSnapshot, pk=snapshot_id, order=order)
    assert isinstance(request.user, User)
    run = services.retry_access_removal(snapshot, by=request.user)
    message = (
        f"Removing access queued again: {snapshot}"
        if run
        else f"{snapshot} has no failed access removal to retry"
    )
    return _respond(request, number, order_updated_response(request, order, message=message))


@login_required
@require_POST
def mark_completed(request: HttpRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request, number)
    require_can_act(request, order)
    assert isinstance(request.user, User)
    try:
        order = services.mark_completed(
            order,
            use_latest_config=request.POST.get("use_latest_config") == "on",
            restore_refunds=request.POST.get("restore_refunded_data") == "on",
            by=request.user,
        )
    except (TransitionNotAllowed, RefundError) as exc:
        response = order_updated_response(request, order, error=str(exc), status=400)
        return _respond(request, number, response)
    response = order_updated_response(request, order, message="Marked as completed")
    return _respond(request, number, response)
