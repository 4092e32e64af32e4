"""Saved views of the orders table (issue 15, point 3): save, change, delete, pick a default.

Plain forms that answer with a redirect to the view (its filters in the URL plus `view=<id>`);
a dialog's answer the service refuses (a name taken, too many views) comes back as a small
page with the form and the message. The rules are `orders.saved_views`'.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from orderdesk.orders.models import SavedView
from orderdesk.orders.saved_views import (
    SavedViewForm,
    ViewsScope,
    create_view,
    delete_view,
    filter_query,
    get_view,
    set_default_view,
    update_view,
)
from orderdesk.web.http import StaffRequest


def views_scope(request: StaffRequest) -> ViewsScope | None:
    current = request.access.current
    if current is None:
        return None
    return ViewsScope(checkout=current.checkout, role=current.role, user=request.user)


def view_url(view: SavedView) -> str:
    """The orders page showing `view`: its filters, as any filtered URL has them, and its id."""
    query = f"{view.query}&" if view.query else ""
    return f"{reverse('orders')}?{query}view={view.pk}"


def _scope_or_404(request: StaffRequest) -> ViewsScope:
    scope = views_scope(request)
    if scope is None:
        raise Http404
    return scope


def _view_or_404(scope: ViewsScope, view_id: int) -> SavedView:
    try:
        return get_view(scope, view_id)
    except SavedView.DoesNotExist:
        raise Http404 from None


def _cleaned(form: SavedViewForm) -> str:
    """The form's query string as the view keeps it; ValidationError on the form if bad."""
    query: str = form.cleaned_data["query"]
    return filter_query(QueryDict(query), tz=timezone.get_current_timezone())


def _refused(request: StaffRequest, form: SavedViewForm, view: SavedView | None) -> HttpResponse:
    context = {"form": form, "view": view, "can_share": _scope_or_404(request).can_share}
    return render(request, "web/orders/saved_view.html", context, status=400)


@login_required
@require_POST
def create_saved_view(request: StaffRequest) -> HttpResponse:
    scope = _scope_or_404(request)
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, None)
    try:
        view = create_view(
            scope,
            name=form.cleaned_data["name"],
            query=_cleaned(form),
            shared=form.cleaned_data["shared"],
            default=form.cleaned_data["default"],
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _refused(request, form, None)
    return HttpResponseRedirect(view_url(view))


@login_required
@require_POST
def change_saved_view(request: StaffRequest, view_id: int) -> HttpResponse:
    scope = _scope_or_404(request)
    view = _view_or_404(scope, view_id)
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, view)
    try:
        view = update_view(
            scope,
            view,
            name=form.cleaned_data["name"],
            query=_cleaned(form),
            shared=form.cleaned_data["shared"],
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _refused(request, form, view)
    is_default = bool(getattr(view, "is_default", False))
    if form.cleaned_data["default"] != is_default:
        set_default_view(scope, view if form.cleaned_data["default"] else None)
    return HttpResponseRedirect(view_url(view))


@login_required
@require_POST
def delete_saved_view(request: StaffRequest, view_id: int) -> HttpResponse:
    scope = _scope_or_404(request)
    delete_view(scope, _view_or_404(scope, view_id))
    return HttpResponseRedirect(reverse("orders"))


@login_required
@require_POST
def default_saved_view(request: StaffRequest, view_id: int) -> HttpResponse:
    """`default=1` opens the orders page with this view from now on; empty stops that."""
    scope = _scope_or_404(request)
    view = _view_or_404(scope, view_id)
    if request.POST.get("default"):
        set_default_view(scope, view)
    elif getattr(view, "is_default", False):
        set_default_view(scope, None)
    return HttpResponseRedirect(view_url(view))
