"""`{% order_row row %}`: one row of the orders table, built in Python (see web.presenters)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from orderdesk.web.presenters import OrderRow, row_html

register = template.Library()


@register.simple_tag(takes_context=True)
def order_row(context: template.Context, row: OrderRow) -> SafeString:
    """Selected when it is the order open in the panel; `oob_row` swaps it out of band."""
    selected: Any = context.get("order")
    return row_html(
        row,
        selected=selected is not None and selected.pk == row.order.pk,
        oob=bool(context.get("oob_row")),
    )
