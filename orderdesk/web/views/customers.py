"""The customer's page (issue 14): one email's orders across the checkouts the member sees,
what they paid and got back, and the access they hold now. Reached from the order panel and
the orders table's Customer column."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orderdesk.orders.models import Order
from orderdesk.web.http import StaffRequest
from orderdesk.web.presenters import customer_order_rows
from orderdesk.workflows.customer import load_customer


class CustomerForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Give the customer's email address.",
            "invalid": "Give a whole email address, like anna@example.com.",
        },
    )


@login_required
@require_GET
def customer(request: StaffRequest) -> HttpResponse:
    form = CustomerForm(request.GET)
    if not form.is_valid():
        error = {"error": form.errors["email"][0], "page": None}
        return render(request, "web/customers/page.html", error, status=400)
    page = load_customer(Order.objects.visible_to(request.access), form.cleaned_data["email"])
    if page is None:
        # The same answer whether the email has no orders or only some the member cannot see.
        raise Http404("No orders of this customer.")
    access = request.access
    shows_checkout = len({o.checkout_id for o in page.orders}) > 1
    context: dict[str, Any] = {
        "page": page,
        "can_act": any(access.can_act_on(checkout_id) for checkout_id in page.checkout_ids),
        "shows_checkout": shows_checkout,
        "order_rows": customer_order_rows(page.orders, show_checkout=shows_checkout),
    }
    return render(request, "web/customers/page.html", context)
