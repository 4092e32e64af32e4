"""The customer's page (issue 14): one email's orders across the checkouts the member sees,
what they paid and got back, and the access they hold now. Reached from the order panel and
the orders table's Customer column."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.web.http import StaffRequest
from orderdesk.web.presenters import customer_order_rows
from orderdesk.workflows.customer import load_customer
from orderdesk.workflows.customer_data import (
    CountChanged,
    customer_csv,
    customer_data,
    customer_orders,
    erase_customer,
    record_export,
)


class CustomerForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": gettext_lazy("Give the customer's email address."),
            "invalid": gettext_lazy("Give a whole email address, like anna@example.com."),
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


# --- the customer's data on request (customer service and up) -----------------------------


class ExportForm(CustomerForm):
    format = forms.ChoiceField(
        choices=[("json", "JSON"), ("csv", "CSV")],
        error_messages={"invalid_choice": gettext_lazy("Choose JSON or CSV.")},
    )


class EraseForm(CustomerForm):
    expected = forms.IntegerField(min_value=1, max_value=10**9)
    confirm = forms.CharField(
        max_length=254,
        error_messages={"required": gettext_lazy("Type the customer's email to confirm.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email, typed = data.get("email"), data.get("confirm")
        if email and typed is not None and typed.strip().lower() != email.lower():
            self.add_error("confirm", _("Type the customer's email exactly to confirm."))
        return data


def _acting_scope(request: StaffRequest, email: str) -> OrderQuerySet:
    """The member's orders of `email`, all on checkouts they may act on: 404 when there are
    none, 403 when a viewer role covers one of them."""
    orders = Order.objects.visible_to(request.access)
    checkout_ids = set(
        customer_orders(orders, email).values_list("checkout_id", flat=True).distinct()
    )
    if not checkout_ids:
        raise Http404("No orders of this customer.")
    for checkout_id in checkout_ids:
        request.access.require_can_act_on(checkout_id)
    return orders


@login_required
@require_POST
def export_customer(request: StaffRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            "\n".join(str(errors[0]) for errors in form.errors.values()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    email, file_format = form.cleaned_data["email"], form.cleaned_data["format"]
    orders = _acting_scope(request, email)
    data = customer_data(orders, email)
    record_export(orders, email, file_format=file_format, actor=Actor.of_user(request.user))
    filename = f"customer-{slugify(email.replace('@', '-at-').replace('.', '-'))}.{file_format}"
    if file_format == "csv":
        response = HttpResponse(customer_csv(data), content_type="text/csv; charset=utf-8")
    else:
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase_customer_view(request: StaffRequest) -> HttpResponse:
    template = "web/customers/erase.html"
    if request.method == "GET":
        form = CustomerForm(request.GET)
        if not form.is_valid():
            return render(request, template, {"error": form.errors["email"][0]}, status=400)
        email = form.cleaned_data["email"]
        count = customer_orders(_acting_scope(request, email), email).count()
        return render(request, template, {"email": email, "count": count})
    erase = EraseForm(request.POST)
    if not erase.is_valid():
        email = str(request.POST.get("email", ""))[:254]
        message = next(iter(erase.errors.values()))[0]
        # The confirmation's count again, as a number (its sentence is plural by it).
        expected = str(request.POST.get("expected", ""))
        count = int(expected) if expected.isascii() and expected.isdigit() else 0
        context = {"email": email, "count": count, "error": message}
        return render(request, template, context, status=400)
    email = erase.cleaned_data["email"]
    try:
        erased = erase_customer(
            _acting_scope(request, email),
            email,
            expected=erase.cleaned_data["expected"],
            actor=Actor.of_user(request.user),
        )
    except CountChanged as changed:
        again: dict[str, Any] = {"email": email, "count": changed.found, "error": str(changed)}
        return render(request, template, again, status=409)
    return render(request, template, {"erased": erased})
