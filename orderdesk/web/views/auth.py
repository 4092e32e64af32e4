"""Signing in and out, and choosing the checkout to work in."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orderdesk.lib.lockouts import client_address, lockout_minutes
from orderdesk.web.http import StaffRequest
from orderdesk.web.middleware import switch_checkout
from orderdesk.web.second_factor import second_factor_exempt

logger = logging.getLogger("orderdesk.security")

login = second_factor_exempt(
    auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True)
)
logout = second_factor_exempt(auth_views.LogoutView.as_view())


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' answer to a login from a locked-out user name and address (429)."""
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))
    logger.warning("Login locked out: %s from %s", username, client_address(request))
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_out_minutes": lockout_minutes(),
        "next": request.POST.get("next", ""),
    }
    return render(request, "web/login.html", context, status=429)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("orders")


@login_required
@require_POST
def choose_checkout(request: StaffRequest) -> HttpResponse:
    raw = request.POST.get("checkout", "")
    # isdigit() alone also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        return HttpResponseBadRequest(_("Choose a checkout from the list."))
    switch_checkout(request, int(raw))
    return redirect(_page_after_switch(request, request.POST.get("next", "")))


# Pages whose query string holds no record of one checkout: Reports' period, tab and currency
# apply to the next checkout as they stand; a customer's page spans the member's checkouts.
_KEEPS_QUERY = frozenset({"reports", "account", "customer"})


def _page_after_switch(request: StaffRequest, back: str) -> str:
    """The page the member switched on, for the checkout they switched to.

    The orders table starts clean (filters and an open order belong to the previous
    checkout; an order's link would even switch back to it); Reports keeps its settings.
    """
    orders = reverse("orders")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return orders
    path, _separator, query = back.partition("?")
    try:
        name = resolve(path).url_name
    except Resolver404:
        return orders
    if name in _KEEPS_QUERY:
        return f"{path}?{query}" if query else path
    return orders
