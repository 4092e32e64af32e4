"""Correct the buyer's email from the order panel (customer service and up)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orderdesk.orders.events import Actor
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.orders import order_updated_response
from orderdesk.workflows.email_change import EmailChangeForm, SameEmail, change_customer_email
from orderdesk.workflows.lookup import get_order_for_member


@login_required
@require_POST
def change_email(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number, acting=True)
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        error = next(iter(form.messages().values()))
        return order_updated_response(request, order, error=error, status=400)
    try:
        change = change_customer_email(
            order,
            form.cleaned_data["email"],
            resend_receipt=form.cleaned_data["resend_receipt"],
            actor=Actor.of_user(request.user),
        )
    except SameEmail as same:
        return order_updated_response(request, order, error=str(same), status=400)
    if not request.htmx:
        return HttpResponseRedirect(reverse("order_detail", args=[number]))
    message = _("Email changed to %(email)s") % {"email": change.order.customer_email}
    if change.runs:
        message += _("; course access is moving to it")
    if change.resent:
        message += _("; receipt queued")
    return order_updated_response(request, change.order, message=message)
