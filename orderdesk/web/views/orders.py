"""Order Management: the orders table, its filters and tabs, and the order side panel.

One template, `web/orders/list.html`, serves the full page and its htmx fragments:
`#body` (tabs, table, pager and panel) when filters change, `#panel` when a row is opened.

Views that change an order (Mark as Completed, Re-run, Refund) end with
`order_updated_response(request, order)`: it re-renders the panel, swaps the order's table row
out of band and fires the `order-updated` event, so the page stays consistent.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from orderdesk.catalog.models import CheckoutLink
from orderdesk.lib.rows import fields_of, read_values
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import AttentionReason, Order, OrderQuerySet, OrderStatus
from orderdesk.orders.queries import PAGE_SIZE, Cursor
from orderdesk.orders.saved_views import default_view, filter_query, visible_view_list
from orderdesk.organizations.roles import CheckoutAccess
from orderdesk.web.http import StaffRequest
from orderdesk.web.middleware import switch_checkout
from orderdesk.web.presenters import OrderRow, RowPresenter, datalist_html, options_html
from orderdesk.web.views.saved_views import view_url, views_scope
from orderdesk.workflows.live import panel_version
from orderdesk.workflows.lookup import get_order_for_member
from orderdesk.workflows.panel import load_order_details
from orderdesk.workflows.table import (
    PageCursors,
    TablePage,
    TableRow,
    table_count,
    table_page,
    table_rows,
)

TEMPLATE = "web/orders/list.html"


def _is_fragment(request: StaffRequest, target: str) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def _with_vary(response: HttpResponse) -> HttpResponse:
    # The same URL answers with a page or a fragment; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def table_orders(current: CheckoutAccess) -> tuple[OrderQuerySet, list[int]]:
    """The current checkout's orders, and the scope's checkout ids."""
    checkout_ids = [current.checkout.pk]
    # The organization makes an order number lookup use its unique index.
    qs = Order.objects.filter(organization_id=current.organization.pk, checkout_id__in=checkout_ids)
    return qs, checkout_ids


def present_rows(rows: list[TableRow], query: str = "") -> list[OrderRow]:
    """Table rows; `query` (the table's query string) is kept in each row's panel link."""
    presenter = RowPresenter(timezone.now(), query)
    return [presenter.row(row) for row in rows]


def _table_context(request: StaffRequest, current: CheckoutAccess | None) -> dict[str, Any]:
    form = OrderFilterForm(request.GET, tz=timezone.get_current_timezone())
    filters, errors = form.filters, form.messages()
    cursors, invalid = PageCursors.read(
        after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    for name in invalid:
        errors[name] = _("This page link is not valid; go back to the first page.")
    page = TablePage.empty()
    if current is not None and not errors:
        base, checkout_ids = table_orders(current)
        page = table_page(base, filters, checkout_ids=checkout_ids, cursors=cursors)
    live_top = ""
    if page.is_first and not errors:
        # New orders are those after the first row (or after now, on an empty page).
        first = page.rows[0].order if page.rows else None
        live_top = (Cursor.of(first) if first else Cursor(timezone.now(), 0)).encode()
    return {
        "live_top": live_top,
        "filters": filters,
        "errors": errors,
        "page": page,
        "rows": present_rows(page.rows, request.GET.urlencode()),
        "count": page.count or 0,
        "count_is_capped": False,
        # Counting up to COUNT_CAP rows can cost more than the page itself; the table
        # shows first and the count follows in its own request (order_count).
        "count_deferred": page.count is None,
        "page_size": PAGE_SIZE,
        "tab": "attention" if filters.requires_attention else "all",
    }


_LINK_FIELDS = fields_of(CheckoutLink, "source", "tags")


def _filter_options(current: CheckoutAccess | None, query: QueryDict) -> dict[str, Any]:
    """The status and reason choices, and suggestions for the source and tag boxes from the
    checkout's links (a small table)."""
    sources: set[str] = set()
    tags: set[str] = set()
    if current is not None:
        # Written out (lib.rows): on every orders page, the ORM's query cost 0.3 ms to compile.
        for source, link_tags in read_values(
            f"SELECT source, tags FROM {CheckoutLink._meta.db_table} WHERE checkout_id = %s",  # noqa: S608
            [current.checkout.pk],
            _LINK_FIELDS,
        ):
            if source:
                sources.add(source)
            tags.update(t for t in link_tags or [] if isinstance(t, str))
    return {
        "status_options": options_html(OrderStatus.choices, query.get("status")),
        "reason_options": options_html(AttentionReason.choices, query.get("reason")),
        "source_options": datalist_html(sorted(sources)),
        "tag_options": datalist_html(sorted(tags)),
    }


def _views_context(request: StaffRequest) -> dict[str, Any]:
    """The saved views beside the tabs (one query), the one the URL names, and the filters
    shown now as a view would keep them."""
    scope = views_scope(request)
    if scope is None:
        return {"views": [], "default_view": None}
    views = visible_view_list(scope)
    for view in views:
        view.url = view_url(view)  # type: ignore[attr-defined]
    try:
        current_query = filter_query(request.GET, tz=timezone.get_current_timezone())
    except ValidationError:
        current_query = None
    active = next((v for v in views if str(v.pk) == request.GET.get("view")), None)
    if active is not None:
        active.can_change = scope.can_change(active)  # type: ignore[attr-defined]
        active.owned = scope.owns(active)  # type: ignore[attr-defined]
    return {
        "views": views,
        "default_view": default_view(views),
        "active_view": active,
        "view_modified": active is not None and current_query != active.query,
        "current_query": current_query,
        "can_share_views": scope.can_share,
    }


def _tab_urls(request: StaffRequest, views: dict[str, Any]) -> dict[str, str]:
    """All and Requires attention keep the filters shown, except those of a saved view:
    leaving a view leaves its filters. With a default view, All says `tab=all`, since Orders
    with no query opens the default."""
    params = QueryDict(mutable=True) if views.get("active_view") else request.GET.copy()
    for name in ("tab", "after", "before", "view"):
        params.pop(name, None)
    urls = {}
    for tab, value in (
        ("all", "all" if views.get("default_view") else ""),
        ("attention", "attention"),
    ):
        query = params.copy()
        if value:
            query["tab"] = value
        encoded = query.urlencode()
        urls[f"tab_{tab}_url"] = reverse("orders") + (f"?{encoded}" if encoded else "")
    return urls


def _view_redirect(request: StaffRequest, views: dict[str, Any]) -> HttpResponse | None:
    """Orders asked for with no query opens the member's default view; `?view=<id>` alone
    opens that view's filters. Fragments and other queries show what they ask for."""
    if request.htmx:
        return None
    if not request.GET and views["default_view"] is not None:
        return HttpResponseRedirect(views["default_view"].url)
    active = views.get("active_view")
    if list(request.GET) == ["view"] and active is not None and active.query:
        return HttpResponseRedirect(active.url)
    return None


def _panel_context(request: StaffRequest, order: Order) -> dict[str, Any]:
    details = load_order_details(order)
    return {
        "order": order,
        "details": details,
        "panel_version": panel_version(order.updated_at, details.timeline),
        "can_act": request.access.can_act_on(order.checkout_id),
    }


@login_required
@require_GET
def order_list(request: StaffRequest) -> HttpResponse:
    if "checkout" in request.GET:
        return _follow_link_to_checkout(request)
    return _orders_page(request, order=None)


def _follow_link_to_checkout(request: StaffRequest) -> HttpResponse:
    """A link that names its checkout (`?checkout=<id>`, as an alert email's link to a failure
    group does): the member's table follows it there, as it follows a colleague's link to an
    order, and the address drops the parameter. 404 for a checkout they have no role on."""
    raw = request.GET["checkout"]
    # isdigit() alone also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise Http404("No such checkout.")
    switch_checkout(request, int(raw))
    query = request.GET.copy()
    del query["checkout"]
    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)


@login_required
@require_GET
def order_count(request: StaffRequest) -> HttpResponse:
    """The number of orders matching the filters: exact up to COUNT_CAP, then "10,000+"."""
    access = request.access
    form = OrderFilterForm(request.GET, tz=timezone.get_current_timezone())
    filters, errors = form.filters, form.messages()
    count, more = 0, False
    if access.current is not None and not errors:
        base, checkout_ids = table_orders(access.current)
        count, more = table_count(base, filters, checkout_ids=checkout_ids)
    context = {"filters": filters, "count": count, "count_is_capped": more, "errors": errors}
    return _with_vary(render(request, f"{TEMPLATE}#count", context))


@login_required
@require_GET
def order_detail(request: StaffRequest, number: int) -> HttpResponse:
    order = get_order_for_member(request.access, number)
    if (
        request.access.current is not None
        and order.checkout_id != request.access.current.checkout.pk
    ):
        # A colleague's link to an order of another of the member's checkouts: the table
        # behind the panel follows the order there.
        switch_checkout(request, order.checkout_id)
    if _is_fragment(request, "panel"):
        return _with_vary(render(request, f"{TEMPLATE}#panel", _panel_context(request, order)))
    return _orders_page(request, order=order)


def _orders_page(request: StaffRequest, *, order: Order | None) -> HttpResponse:
    current = request.access.current
    if _is_fragment(request, "panel"):
        # Closing the panel: an empty panel, the table stays as it is.
        return _with_vary(render(request, f"{TEMPLATE}#panel", {"order": None}))
    views = _views_context(request)
    if order is None and (redirect := _view_redirect(request, views)) is not None:
        return redirect
    context = _table_context(request, current)
    context.update(views)
    context.update(_tab_urls(request, views))
    context["current"] = current
    context["attention_count"] = request.navigation.attention_count
    context["attention_label"] = request.navigation.attention_label
    status = 400 if context["errors"] else 200
    if _is_fragment(request, "orders-body"):
        context["oob"] = True
        context["error_slots"] = [
            (name, context["errors"].get(name, ""))
            for name in OrderFilterForm.base_fields
            if name not in ("tab",)
        ]
        return _with_vary(render(request, f"{TEMPLATE}#body", context, status=status))
    if order is not None:
        context.update(_panel_context(request, order))
    context.update(_filter_options(current, request.GET))
    return _with_vary(render(request, TEMPLATE, context, status=status))


def order_updated_response(
    request: StaffRequest,
    order: Order,
    *,
    message: str = "",
    tone: str = "success",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """After a POST on one order: the fresh panel, its table row (out of band) and an event.

    `message` is shown at the top of the panel in its `tone` (success, warning, error or
    info: a refund's outcome says which); `error` likewise, as an error (send it with status
    400, which the page swaps in).
    """
    order = get_order_for_member(request.access, order.number)
    context = _panel_context(request, order)
    context["message"] = message
    context["tone"] = tone
    context["error"] = error
    context["row"] = present_rows(table_rows([order]))[0]
    context["oob_row"] = True
    response = render(request, f"{TEMPLATE}#panel-update", context, status=status)
    response["HX-Trigger"] = "order-updated"
    return response
