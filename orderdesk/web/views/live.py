"""Live updates (issue 15, point 4): what an open page polls for, every LIVE_POLL_SECONDS.

`order_live` answers the orders page (`orders.js` sends its cursor, the rows' versions, the
first page's newest row and the panel's version). When its checkout's orders have not changed
since the cursor (one index probe, `workflows.live.changes_since`) the answer is an empty 204
with the next cursor in `Live-Cursor`: no form, no template. Otherwise it is the changed rows,
the new orders' bar and the counters, all out of band. Every `LIVE_COUNTER_EVERY`th poll asks
for the counters too (`counter=1`: an order starts requiring attention when time passes, with
no write), and an `orders:panel-changed` event tells the page when the open order changed.
`attention_live` answers every other page with the counter alone, by the same rules. Neither
holds a connection: a poll is a short GET (`bench/live_poll.py`).
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
from orderdesk.workflows.live import (
    MAX_WATCHED,
    ChangeCursor,
    changes_since,
    live_changes,
    panel_changed,
)

# The poll's own parameters; the rest are the table's.
LIVE_PARAMETERS = ("rows", "top", "panel", "cursor", "counter")
# The response header that carries the next cursor (orders.js and app.js keep it).
CURSOR_HEADER = "Live-Cursor"


def _unchanged(cursor: ChangeCursor) -> HttpResponse:
    response = HttpResponse(status=204)
    response[CURSOR_HEADER] = cursor.encode()
    return response


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
    base, checkout_ids = table_orders(current)
    panel = _panel(request.GET.get("panel", ""))
    counter = request.GET.get("counter") == "1"
    since = ChangeCursor.decode(request.GET.get("cursor", ""))
    # First, before any other read: the cursor must not be newer than what they see.
    probe = changes_since(checkout_ids, since)
    if not probe.changed:
        moved = panel is not None and panel_changed(base, *panel)
        if not counter and not moved:
            return _unchanged(probe.cursor)
        response = render(request, f"{TEMPLATE}#live", _counters(request))
        if moved and panel is not None:
            response["HX-Trigger"] = json.dumps({"orders:panel-changed": {"number": panel[0]}})
        response[CURSOR_HEADER] = probe.cursor.encode()
        return response
    table_query = QueryDict(mutable=True)
    for name, values in request.GET.lists():
        if name not in LIVE_PARAMETERS:
            table_query.setlist(name, values)
    form = OrderFilterForm(table_query, tz=timezone.get_current_timezone())
    filters, errors = form.filters, form.messages()
    top = None if errors else Cursor.decode(request.GET.get("top", ""))
    changes = live_changes(
        base,
        filters,
        checkout_ids=checkout_ids,
        rows=_watched_rows(request.GET.get("rows", "")),
        top=top,
        panel=panel,
        since=since,
        also_count=request.navigation.attention_orders(),
    )
    if changes.also_counted is not None:
        request.navigation.counted_attention(changes.also_counted)
    encoded = table_query.urlencode()
    context = {
        **_counters(request),
        "bar": True,
        "new_orders": changes.new_orders,
        "new_orders_capped": changes.new_orders_capped,
        "table_url": reverse("orders") + (f"?{encoded}" if encoded else ""),
        "rows": present_rows(changes.changed_rows, encoded),
        "oob_row": True,
    }
    response = render(request, f"{TEMPLATE}#live", context)
    if changes.panel_changed and panel is not None:
        response["HX-Trigger"] = json.dumps({"orders:panel-changed": {"number": panel[0]}})
    response[CURSOR_HEADER] = probe.cursor.encode()
    return response


def _counters(request: StaffRequest) -> dict[str, object]:
    return {
        "attention_count": request.navigation.attention_count,
        "attention_label": request.navigation.attention_label,
    }


@login_required
@require_GET
def attention_live(request: StaffRequest) -> HttpResponse:
    """The Requires attention counter of the navigation, for pages other than Orders: 204
    when the checkout's orders did not change since the cursor (nor is it the poll that
    counts anyway, `counter=1`)."""
    current = request.access.current
    if current is None:
        return HttpResponse(status=204)
    since = ChangeCursor.decode(request.GET.get("cursor", ""))
    probe = changes_since([current.checkout.pk], since)
    if not probe.changed and request.GET.get("counter") != "1":
        return _unchanged(probe.cursor)
    response = render(request, "web/_nav_attention.html", {"oob": True})
    response[CURSOR_HEADER] = probe.cursor.encode()
    return response
