"""Live updates (issue 15, point 4): what an open page polls for, every LIVE_POLL_SECONDS.

`order_live` answers the orders page (`orders.js` sends the rows' versions, the first page's
newest row and the panel's version) with the changed rows, the new orders' bar and the
counters, all out of band, and tells the page by an `orders:panel-changed` event when the
open order changed. `attention_live` answers every other page with the counter alone.
Neither holds a connection: a poll is a short GET (`workflows.live`, `bench/live_poll.py`).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.queries import Cursor
from orderdesk.web.http import StaffRequest
from orderdesk.web.views.orders import TEMPLATE, present_rows, table_orders
from orderdesk.workflows.live import MAX_WATCHED, live_changes
from orderdesk.workflows.table import table_rows

# The poll's own parameters; the rest are the table's.
LIVE_PARAMETERS = ("rows", "top", "panel")


def _watched_rows(raw: str) -> dict[int, str]:
    """`number:version,…` as sent by orders.js; anything else is left out."""
    rows: dict[int, str] = {}
    for item in raw.split(",")[:MAX_WATCHED]:
        number, _, version = item.partition(":")
        if number.isdigit() and version.isdigit() and len(number) <= 18 and len(version) <= 20:
            rows[int(number)] = version
    return rows


def _panel(raw: str) -> tuple[int, str] | None:
    number, _, version = raw.partition(":")
    if number.isdigit() and len(number) <= 18 and 0 < len(version) <= 60:
        return int(number), version
    return None


@login_required
@require_GET
def order_live(request: StaffRequest) -> HttpResponse:
    current = request.access.current
    if current is None:
        return HttpResponse(status=204)
    table_query = QueryDict(mutable=True)
    for name, values in request.GET.lists():
        if name not in LIVE_PARAMETERS:
            table_query.setlist(name, values)
    form = OrderFilterForm(table_query, tz=timezone.get_current_timezone())
    filters, errors = form.filters, form.messages()
    top = None if errors else Cursor.decode(request.GET.get("top", ""))
    panel = _panel(request.GET.get("panel", ""))
    base, checkout_ids = table_orders(current)
    changes = live_changes(
        base,
        filters,
        checkout_ids=checkout_ids,
        rows=_watched_rows(request.GET.get("rows", "")),
        top=top,
        panel=panel,
    )
    rows = []
    if changes.changed_rows:
        orders = list(
            base.filter(number__in=changes.changed_rows).with_attention_reasons(timezone.now())
        )
        rows = present_rows(table_rows(orders), table_query.urlencode())
    encoded = table_query.urlencode()
    context = {
        "new_orders": changes.new_orders,
        "new_orders_capped": changes.new_orders_capped,
        "table_url": reverse("orders") + (f"?{encoded}" if encoded else ""),
        "attention_count": request.navigation.attention_count,
        "attention_label": request.navigation.attention_label,
        "rows": rows,
        "oob_row": True,
    }
    response = render(request, f"{TEMPLATE}#live", context)
    if changes.panel_changed and panel is not None:
        response["HX-Trigger"] = json.dumps({"orders:panel-changed": {"number": panel[0]}})
    return response


@login_required
@require_GET
def attention_live(request: StaffRequest) -> HttpResponse:
    """The Requires attention counter of the navigation, for pages other than Orders."""
    return render(request, "web/_nav_attention.html", {"oob": True})
