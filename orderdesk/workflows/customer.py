"""The customer's page (issue 14): every order of one email that the caller may see, what they
paid and got back per currency, and the course access they hold now.

Read by the web page and the staff API's customer endpoint; both hand in the orders their
caller may see (`Order.objects.visible_to(access)` or `.for_token(token)`), so a customer's
orders on checkouts the caller has no role on never show. At most four queries whatever the
number of orders (the orders through the `(checkout, customer_email)` index, their access
grants, the refunds that asked to remove access and their lines), read as tuples: a regular
customer has hundreds of orders and model instances cost more than the queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import NamedTuple

from django.utils.translation import gettext_noop

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.models import OrderQuerySet, OrderStatus
from orderdesk.payments.models import Refund, RefundLine, RefundStatus

# What grants access to a course: each such action is a grant of the customer's access.
ACCESS_KINDS = (ActionKind.KAJABI_GRANT,)
_STATUS_LABELS = {status.value: str(status.label) for status in OrderStatus}
_LEVEL_LABELS = {level.value: str(level.label) for level in ActionLevel}


class AccessState:
    HELD = "held"  # granted and not removed
    GRANTING = "granting"  # not run yet, or running
    FAILED = "failed"  # granting failed: the customer has no access from it
    REMOVED = "removed"  # removed (a refund asked), or never granted before a refund


# English, as the staff API says them; the page translates them (the `translated` filter).
ACCESS_LABELS = {
    AccessState.HELD: gettext_noop("Has access"),
    AccessState.GRANTING: gettext_noop("Being granted"),
    AccessState.FAILED: gettext_noop("Granting failed"),
    AccessState.REMOVED: gettext_noop("Removed"),
}
# Which grant speaks for a product or offer: one that holds access wins.
_STATE_RANK = {AccessState.HELD: 0, AccessState.GRANTING: 1, AccessState.FAILED: 2}


class CustomerOrder(NamedTuple):
    id: int
    number: int
    status: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    currency: str
    total_minor: int
    refunded_minor: int
    offer: str | None
    checkout_id: int
    checkout: str
    first_name: str
    last_name: str

    @property
    def status_label(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)


class RefundRef(NamedTuple):
    id: int
    amount_minor: int
    currency: str
    created_at: dt.datetime


@dataclass(frozen=True)
class MoneyTotal:
    currency: str
    paid_minor: int
    refunded_minor: int

    @property
    def net_minor(self) -> int:
        return self.paid_minor - self.refunded_minor


@dataclass(frozen=True)
class Access:
    """The customer's access to one product or offer, as its deciding grant says: one that
    holds access if any (the newest), else the newest."""

    name: str  # the product's or the offer's
    level: str  # product, offer or checkout (ActionLevel)
    action: str  # the action's label, e.g. "Grant Kajabi offer"
    state: str  # AccessState
    order_number: int  # the order of the deciding grant
    refund: RefundRef | None  # the refund that asked to remove it, when one did
    grants: int  # how many of the customer's orders granted it

    @property
    def level_label(self) -> str:
        return _LEVEL_LABELS.get(self.level, self.level)

    @property
    def state_label(self) -> str:
        return ACCESS_LABELS[self.state]

    @property
    def refund_id(self) -> int | None:
        return self.refund.id if self.refund is not None else None


@dataclass(frozen=True)
class CustomerPage:
    email: str
    name: str  # from the newest order that has one
    orders: list[CustomerOrder]  # newest first
    totals: list[MoneyTotal]  # per currency, of the orders that were paid
    first_purchase_at: dt.datetime | None
    last_purchase_at: dt.datetime | None
    access: list[Access]  # held first, then by name

    @property
    def order_count(self) -> int:
        return len(self.orders)

    @property
    def checkout_ids(self) -> set[int]:
        return {order.checkout_id for order in self.orders}


def load_customer(orders: OrderQuerySet, email: str) -> CustomerPage | None:
    """The customer `email` (lower-cased, like every stored email) among `orders`; None when
    none of them is theirs."""
    email = email.strip().lower()
    if not email:
        return None
    rows = [
        CustomerOrder(*values)
        for values in orders.filter(customer_email=email)
        .order_by("-created_at", "-pk")
        .values_list(
            "id",
            "number",
            "status",
            "created_at",
            "paid_at",
            "currency",
            "total_minor",
            "refunded_minor",
            "offer__name",
            "checkout_id",
            "checkout__name",
            "first_name",
            "last_name",
        )
    ]
    if not rows:
        return None
    paid = [o for o in rows if o.status in OrderStatus.WAS_PAID]
    purchases = sorted(o.paid_at or o.created_at for o in paid)
    named = next((o for o in rows if o.first_name or o.last_name), None)
    return CustomerPage(
        email=email,
        name=f"{named.first_name} {named.last_name}".strip() if named else "",
        orders=rows,
        totals=_totals(paid),
        first_purchase_at=purchases[0] if purchases else None,
        last_purchase_at=purchases[-1] if purchases else None,
        access=_access(rows),
    )


def _totals(paid: list[CustomerOrder]) -> list[MoneyTotal]:
    sums: dict[str, tuple[int, int]] = {}
    for order in paid:
        total, refunded = sums.get(order.currency, (0, 0))
        sums[order.currency] = (total + order.total_minor, refunded + order.refunded_minor)
    return [MoneyTotal(currency, *sums[currency]) for currency in sorted(sums)]


def _state(status: str) -> str:
    if status == SnapshotStatus.SUCCEEDED:
        return AccessState.HELD
    if status == SnapshotStatus.REVOKED:
        return AccessState.REMOVED
    if status == SnapshotStatus.FAILED:
        return AccessState.FAILED
    return AccessState.GRANTING


def _removals(order_ids: list[int]) -> dict[tuple[int, int | None], RefundRef]:
    """The refund that asked to remove each (order, product) access; product None is the
    offer's. The newest asking refund wins."""
    refunds = {
        pk: (RefundRef(pk, amount, currency, created_at), order_id, offer)
        for pk, order_id, amount, currency, created_at, offer in Refund.objects.filter(
            order_id__in=order_ids
        )
        .exclude(status__in=(RefundStatus.FAILED, RefundStatus.REVERSED))
        .order_by("created_at", "pk")
        .values_list(
            "pk", "order_id", "amount_minor", "currency", "created_at", "remove_offer_access"
        )
    }
    if not refunds:
        return {}
    removals: dict[tuple[int, int | None], RefundRef] = {}
    for ref, order_id, offer in refunds.values():
        if offer:
            removals[(order_id, None)] = ref
    lines = (
        RefundLine.objects.filter(refund_id__in=list(refunds), remove_access=True)
        .order_by("refund_id")
        .values_list("refund_id", "order_line__product_id")
    )
    for refund_id, product_id in lines:
        ref, order_id, _ = refunds[refund_id]
        if product_id is not None:
            removals[(order_id, product_id)] = ref
    return removals


def _access(orders: list[CustomerOrder]) -> list[Access]:
    by_id = {order.id: order for order in orders}
    grants = list(
        ActionSnapshot.objects.filter(order_id__in=list(by_id), kind__in=ACCESS_KINDS)
        .order_by()
        .values_list("order_id", "level", "status", "product_id", "product__name", "name", "kind")
    )
    if not grants:
        return []
    removals = _removals(list(by_id))
    chosen: dict[tuple[str, str], Access] = {}
    counts: dict[tuple[str, str], int] = {}
    for order_id, level, status, product_id, product_name, name, kind in grants:
        order = by_id[order_id]
        if level == ActionLevel.PRODUCT:
            what = product_name or name or kind
            removal = removals.get((order_id, product_id))
        else:
            what = order.offer or order.checkout
            removal = removals.get((order_id, None))
        state = _state(status)
        candidate = Access(
            name=what,
            level=level,
            action=name or str(ActionKind(kind).label),
            state=state,
            order_number=order.number,
            refund=removal,
            grants=0,
        )
        key = (level if level == ActionLevel.PRODUCT else "offer", what)
        counts[key] = counts.get(key, 0) + 1
        best = chosen.get(key)
        if best is None or (_STATE_RANK.get(state, 3), -order.number) < (
            _STATE_RANK.get(best.state, 3),
            -best.order_number,
        ):
            chosen[key] = candidate
    access = [replace(a, grants=counts[key]) for key, a in chosen.items()]
    return sorted(access, key=lambda a: (_STATE_RANK.get(a.state, 3), a.name))
