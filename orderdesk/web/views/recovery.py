"""Recovering many orders at once (issue 15): the Requires attention tab's failure groups with
"Re-run all", bulk actions on selected or filtered orders, and their jobs' progress.

The groups and the jobs load in their own requests (`hx-trigger="load"`), so the table's page
costs what it did. A job's progress polls its own small fragment every second until the job
finishes; the page lists the member's recent jobs again after a reload.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.organizations.roles import CheckoutAccess
from orderdesk.recovery import jobs
from orderdesk.recovery.causes import failure_groups, find_group
from orderdesk.recovery.models import BulkJob, BulkVerb
from orderdesk.recovery.selection import BulkForm, ScopeError, orders_for, parse_numbers
from orderdesk.reports.exports import orders_csv_response
from orderdesk.web.http import StaffRequest

# Jobs the orders page lists for their starter: the last day's, until closed.
RECENT_JOBS = dt.timedelta(days=1)


def _current(request: StaffRequest) -> CheckoutAccess:
    current = request.access.current
    if current is None:
        raise Http404("No checkout.")
    return current


def _orders(current: CheckoutAccess) -> OrderQuerySet:
    # The organization makes an order number lookup use its unique index.
    return Order.objects.filter(
        organization_id=current.organization.pk, checkout_id=current.checkout.pk
    )


@login_required
@require_GET
def groups(request: StaffRequest) -> HttpResponse:
    """The Requires attention tab's failure groups, biggest first."""
    current = _current(request)
    context = {
        "groups": failure_groups(_orders(current), timezone.now()),
        "chosen": request.GET.get("group", ""),
        "can_act": current.can_act,
    }
    return render(request, "web/orders/_failure_groups.html", context)


@login_required
@require_GET
def rerun_group(request: StaffRequest) -> HttpResponse:
    """What "Re-run all" of a group will do, before it starts: the count, the configuration,
    whether the latest configuration differs; the dialog posts to `bulk_create`."""
    current = _current(request)
    request.access.require_can_act_on(current.checkout.pk)
    group = find_group(_orders(current), timezone.now(), request.GET.get("group", ""))
    if group is None:
        raise Http404("This group has no orders left in Requires attention.")
    return render(request, "web/orders/_group_rerun.html", {"group": group})


def _job_response(request: StaffRequest, job: BulkJob, *, status: int = 200) -> HttpResponse:
    context = {"job": job, "reasons": jobs.job_reasons(job) if job.is_finished else []}
    response = render(request, "web/orders/_bulk_job.html", context, status=status)
    if job.is_finished and request.GET.get("watching"):
        # The poll that saw the job finish: the table and counter show its result.
        response["HX-Trigger"] = "bulk-finished"
    return response


def _refused(request: StaffRequest, message: str) -> HttpResponse:
    response = render(request, "web/orders/_bulk_message.html", {"message": message}, status=400)
    response["HX-Retarget"] = "#bulk-message"
    response["HX-Reswap"] = "innerHTML"
    return response


@login_required
@require_POST
def bulk_create(request: StaffRequest) -> HttpResponse:
    """Start a bulk job on the selected orders, the filtered ones or a failure group.

    Every order is changed by its single-order service as the member; a viewer gets 403 as
    for one order. More than `BULK_CONFIRM_OVER` orders, or every order a filter matches,
    are confirmed first with their count (a dialog posting the same form again).
    """
    current = _current(request)
    request.access.require_can_act_on(current.checkout.pk)
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _refused(request, "; ".join(form.messages().values()))
    data = form.cleaned_data
    try:
        selection = orders_for(
            _orders(current),
            checkout_ids=[current.checkout.pk],
            scope=data["scope"],
            numbers=data["numbers"],
            query=form.query_dict(),
            group=data["group"],
            tz=timezone.get_current_timezone(),
            now=timezone.now(),
        )
    except ScopeError as error:
        return _refused(request, "; ".join(error.messages.values()))
    request_ = jobs.BulkRequest(
        verb=BulkVerb(data["verb"]),
        key=data["key"],
        use_latest_config=data["use_latest_config"],
        description=selection.description,
        cause=selection.cause,
        confirm_count=data["confirm_count"],
    )
    orders = selection.orders
    if data["scope"] == "filter" and data["confirm_count"] is None:
        # Everything a filter matches is confirmed with its count, however small.
        # Counted up to one past the most a job takes, which the job then refuses.
        count = orders.order_by().values("pk")[: settings.BULK_MAX_ORDERS + 1].count()
        return _confirm(request, form, count)
    try:
        job, _new = jobs.create_bulk_job(
            orders, checkout=current.checkout, request=request_, by=request.user
        )
    except jobs.ConfirmationNeeded as needed:
        return _confirm(request, form, needed.count)
    except jobs.BulkRefused as refused:
        return _refused(request, _translated_refusal(refused))
    response = _job_response(request, job)
    response["HX-Trigger"] = "bulk-started"
    return response


def _translated_refusal(refused: jobs.BulkRefused) -> str:
    if refused.code == "no_orders":
        return _("No orders to change: nothing is selected or matches.")
    if refused.code == "too_many_orders":
        return _("Too many orders at once: narrow the filters and try again.")
    return _("This form was sent already for another change: reload the page.")


def _confirm(request: StaffRequest, form: BulkForm, count: int) -> HttpResponse:
    context: dict[str, Any] = {
        "count": count,
        "data": form.cleaned_data,
        "verb_label": BulkVerb(form.cleaned_data["verb"]).label,
    }
    response = render(request, "web/orders/_bulk_confirm.html", context)
    response["HX-Retarget"] = "#bulk-dialog-slot"
    response["HX-Reswap"] = "innerHTML"
    return response


def _job_for(request: StaffRequest, job_id: int) -> BulkJob:
    return get_object_or_404(
        BulkJob, pk=job_id, checkout_id__in=request.access.visible_checkout_ids
    )


@login_required
@require_GET
def bulk_job(request: StaffRequest, job_id: int) -> HttpResponse:
    """One job's progress (polled while it runs) or, once finished, its summary."""
    return _job_response(request, _job_for(request, job_id))


@login_required
@require_GET
def bulk_jobs(request: StaffRequest) -> HttpResponse:
    """The member's recent jobs on this checkout, so progress survives a reload."""
    current = _current(request)
    recent = BulkJob.objects.filter(
        checkout=current.checkout,
        created_by=request.user,
        dismissed_at=None,
        created_at__gte=timezone.now() - RECENT_JOBS,
    ).order_by("-created_at")[:3]
    return render(request, "web/orders/_bulk_jobs.html", {"jobs": recent})


@login_required
@require_POST
def bulk_dismiss(request: StaffRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    if job.created_by_id == request.user.pk:
        jobs.dismiss_job(job)
    return HttpResponse("")


@login_required
@require_POST
def bulk_export(request: StaffRequest) -> HttpResponseBase:
    """The selected orders as CSV (everything a filter matches uses the page's own export)."""
    current = _current(request)
    try:
        numbers = parse_numbers(str(request.POST.get("numbers", "")))
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    if not numbers:
        return HttpResponse(
            _("Select at least one order."), status=400, content_type="text/plain; charset=utf-8"
        )
    tz = timezone.get_current_timezone()
    orders = _orders(current).filter(number__in=numbers).order_by("-created_at", "-pk")
    filename = f"orders-selected-{timezone.now().astimezone(tz).strftime('%Y-%m-%d-%H%M')}.csv"
    return orders_csv_response(orders, tz=ZoneInfo(str(tz)), filename=filename)
