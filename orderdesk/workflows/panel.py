"""The order panel (SPEC F3): what the web panel shows and the staff API's order detail returns.

Attributes are named as the API names them; the API maps this read model by attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.db import models
from django.db.models import Prefetch
from django.utils import timezone

from orderdesk.actions.models import ActionRun, ActionSnapshot, SnapshotStatus
from orderdesk.actions.services import can_send_receipt
from orderdesk.lib.rows import read_instances, select_list
from orderdesk.orders.models import (
    AttentionReason,
    Order,
    OrderEvent,
    OrderLine,
    attention_reasons_at,
)
from orderdesk.orders.pricing import VatRow, vat_breakdown
from orderdesk.payments.models import Dispute, PaymentAttempt, Refund
from orderdesk.payments.refunds import RefundNotice, refund_notice, removed_access_snapshots
from orderdesk.payments.services import payment_to_confirm


@dataclass(frozen=True)
class General:
    """The panel's General section beyond the order's own fields: names of what it came
    through, and its VAT per rate."""

    order: Order
    offer: str | None
    link: str | None
    discount_code: str | None
    vat_breakdown: list[VatRow]


@dataclass(frozen=True)
class Reversal:
    """A refund the provider reversed that waits for staff: the access it removed, and
    whether any of it can be granted again."""

    refund: Refund
    removed_access: list[ActionSnapshot]

    @property
    def can_restore(self) -> bool:
        return any(s.status == SnapshotStatus.REVOKED for s in self.removed_access)


@dataclass(frozen=True)
class OrderDetails:
    """Everything the order panel shows, loaded in a fixed number of queries."""

    order: Order
    general: General
    lines: list[OrderLine]
    refunds: list[Refund]
    payments: list[PaymentAttempt]
    actions: list[ActionSnapshot]  # each with its runs, newest first
    timeline: list[OrderEvent]
    disputes: list[Dispute]

    @cached_property
    def payment_to_confirm(self) -> PaymentAttempt | None:
        """The invoice or bank transfer staff may mark as paid; None for any other payment."""
        return payment_to_confirm(self.order, self.payments)

    @cached_property
    def can_send_receipt(self) -> bool:
        """Paid, and no receipt action to resend instead: staff may send one."""
        return can_send_receipt(self.order, self.actions)

    @cached_property
    def refund_notices(self) -> list[RefundNotice]:
        """Each refund with its outcome told as it is, and how a pending one gets settled."""
        return [refund_notice(refund) for refund in self.refunds]

    @cached_property
    def attention_reasons(self) -> list[AttentionReason]:
        """Why the order is on the Requires attention tab now (none: it is not)."""
        return attention_reasons_at(self.order, timezone.now())

    @cached_property
    def requires_attention(self) -> bool:
        return bool(self.attention_reasons)

    @cached_property
    def reversals(self) -> list[Reversal]:
        """Refunds the provider reversed that staff have not handled yet."""
        return [
            Reversal(refund, removed_access_snapshots(self.order, refund))
            for refund in self.refunds
            if refund.awaits_reversal_decision
        ]


def _of_order[M: models.Model](model: type[M], order: Order, order_by: str) -> list[M]:
    """`model`'s rows of the order in `order_by`'s order (columns of its own table).

    Written out (lib.rows): each such ORM query of the panel cost ~0.4 ms of Python to build
    and compile, more than the database takes to answer it."""
    table = model._meta.db_table
    sql = (
        f"SELECT {select_list(model, 't')} FROM {table} t"  # noqa: S608 - names from the model
        f" WHERE t.order_id = %s ORDER BY {order_by}"
    )
    rows = [row[0] for row in read_instances(sql, [order.pk], [model])]
    for row in rows:
        # As the ORM's related query would: `row.order` is this order, not a query.
        row._state.fields_cache["order"] = order
    return rows


def load_order_details(order: Order) -> OrderDetails:
    """The panel's data: lines, VAT per rate, refunds, attempts, actions with runs, timeline.

    `order` comes from workflows.lookup, with its offer, link and discount code joined.
    """
    lines = list(order.lines.select_related("add_on"))
    general = General(
        order=order,
        offer=order.offer.name if order.offer else None,
        link=order.link.name if order.link else None,
        discount_code=order.discount_code.code if order.discount_code else None,
        vat_breakdown=vat_breakdown(
            (line.vat_rate, line.total_minor, line.vat_minor) for line in lines
        ),
    )
    refunds = list(
        Refund.objects.filter(order=order)
        .select_related("created_by", "created_by_token", "payment_attempt")
        .prefetch_related("lines__order_line")
    )
    attempts = _of_order(PaymentAttempt, order, "t.created_at, t.id")
    snapshots = list(
        ActionSnapshot.objects.filter(order=order)
        .select_related("product")
        .prefetch_related(
            Prefetch("runs", queryset=ActionRun.objects.order_by("-created_at", "-pk"))
        )
    )
    events = _of_order(OrderEvent, order, "t.created_at, t.id")
    disputes = _of_order(Dispute, order, "t.opened_at, t.id")
    return OrderDetails(
        order=order,
        general=general,
        lines=lines,
        refunds=refunds,
        payments=attempts,
        actions=snapshots,
        timeline=events,
        disputes=disputes,
    )
