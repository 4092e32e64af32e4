"""The order panel's data (SPEC F3), shared by the web panel and the staff API's detail."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.orders.models import Order, OrderEvent, OrderLine
from orderdesk.orders.pricing import VatRow, vat_breakdown
from orderdesk.payments.models import PaymentAttempt, Refund


@dataclass(frozen=True)
class OrderDetails:
    """Everything the order panel shows, loaded in a fixed number of queries."""

    order: Order
    lines: list[OrderLine]
    vat_rows: list[VatRow]
    refunds: list[Refund]
    payment_attempts: list[PaymentAttempt]
    action_snapshots: list[ActionSnapshot]
    events: list[OrderEvent]


def load_order_details(order: Order) -> OrderDetails:
    """The panel's data: lines, VAT per rate, refunds, attempts, actions with runs, timeline."""
    lines = list(order.lines.select_related("add_on"))
    vat_rows = vat_breakdown((line.vat_rate, line.total_minor, line.vat_minor) for line in lines)
    refunds = list(
        Refund.objects.filter(order=order)
        .select_related("created_by", "payment_attempt")
        .prefetch_related("lines__order_line")
    )
    attempts = list(PaymentAttempt.objects.filter(order=order).order_by("created_at", "pk"))
    snapshots = list(
        ActionSnapshot.objects.filter(order=order)
        .select_related("product")
        .prefetch_related(
            Prefetch("runs", queryset=ActionRun.objects.order_by("-created_at", "-pk"))
        )
    )
    events = list(order.events.order_by("created_at", "pk"))
    return OrderDetails(
        order=order,
        lines=lines,
        vat_rows=vat_rows,
        refunds=refunds,
        payment_attempts=attempts,
        action_snapshots=snapshots,
        events=events,
    )
