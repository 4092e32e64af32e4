"""Signing in and out, and choosing the checkout to work in."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from orderdesk.web.http import StaffRequest
from orderdesk.web.middleware import switch_checkout

login = auth_views.LoginView.as_view(
    template_name="web/login.html", redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view()


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("orders")


@login_required
@require_POST
def choose_checkout(request: StaffRequest) -> HttpResponse:
    raw = request.POST.get("checkout", "")
    # isdigit() alone also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        return HttpResponseBadRequest("Choose a checkout from the list.")
    switch_checkout(request, int(raw))
    # Filters and order numbers belong to the previous checkout, so start from a clean table.
    return redirect("orders")
