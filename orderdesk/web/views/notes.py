"""Internal notes from the order panel: customer service and up write them, viewers read them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orderdesk.orders.events import Actor
from orderdesk.orders.notes import NoteForm, add_note
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.orders import order_updated_response
from orderdesk.workflows.lookup import get_order_for_member


@login_required
@require_POST
def add_order_note(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number, acting=True)
    form = NoteForm(request.POST)
    if not form.is_valid():
        error = next(iter(form.messages().values()))
        return order_updated_response(request, order, error=error, status=400)
    add_note(order, text=form.cleaned_data["text"], actor=Actor.of_user(request.user))
    if not request.htmx:
        return HttpResponseRedirect(reverse("order_detail", args=[number]) + "#panel-timeline")
    return order_updated_response(request, order, message=_("Note added"))
