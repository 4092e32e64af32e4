"""One order while it is generated: what has been drawn for it so far, and its rows unwritten."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from orderdesk.actions.models import SnapshotStatus
from orderdesk.catalog.models import ActionConfig, DiscountCode, Offer
from orderdesk.demo import people
from orderdesk.demo.generator.sales import NO_DETAILS, CheckoutPlan, LinkPlan, Staff
from orderdesk.demo.generator.tables import ATTEMPT_CREATED, Row
from orderdesk.orders.models import ActionHealth
from orderdesk.orders.pricing import Quote


@dataclass(slots=True)
class Snapshot:
    """One of the order's action snapshots and the runs it has had."""

    id: int
    config: ActionConfig
    product_id: int | None
    status: str = SnapshotStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    last_run_at: dt.datetime | None = None
    succeeded_at: dt.datetime | None = None
    runs: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(slots=True)
class PlannedRefund:
    """A refund as staff asked for it, before its money is booked on the lines and payment."""

    status: str
    lines: list[tuple[int, int, bool]]  # (index of the order line, amount, remove access)
    by: tuple[int | None, str]  # (user id, email)
    at: dt.datetime
    reason: str
    remove_offer_access: bool = False
    reversed_at: dt.datetime | None = None
    failure_message: str = ""


@dataclass(slots=True)
class OrderDraft:
    id: int
    number: int
    created: dt.datetime
    plan: CheckoutPlan
    link: LinkPlan
    customer: people.Customer
    currency: str
    code: DiscountCode | None
    quote: Quote
    status: str  # first the status drawn as its end, then what its story made of it
    device: str
    user_agent: str
    staff: Staff
    billing_at: dt.datetime | None = None  # None while the customer has not saved details
    provider: str = ""
    method: str = ""
    paid_at: dt.datetime | None = None
    health: str = ActionHealth.NONE
    completed_at: dt.datetime | None = None
    marked_at: dt.datetime | None = None
    refunded_total: int = 0
    details: tuple[Any, ...] = NO_DETAILS
    lines: list[Row] = field(default_factory=list)
    attempts: list[Row] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    refunds: list[PlannedRefund] = field(default_factory=list)
    refund_rows: list[tuple[Any, ...]] = field(default_factory=list)
    refund_line_rows: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def offer(self) -> Offer:
        return self.link.offer

    def event(
        self,
        at: dt.datetime,
        type: str,
        message: str,
        actor: str,
        label: str,
        data: str = "{}",
        user_id: int | None = None,
    ) -> None:
        self.events.append((self.id, type, message, data, actor, user_id, label, at))

    def updated_at(self, now: dt.datetime) -> dt.datetime:
        """When anything last happened to the order, its payments, actions or refunds."""
        created = self.created
        latest: dt.datetime = max(
            created,
            self.billing_at or created,
            *(attempt[ATTEMPT_CREATED] for attempt in self.attempts),
            *(refund.reversed_at or refund.at for refund in self.refunds),
            *(snapshot.last_run_at or created for snapshot in self.snapshots),
            self.completed_at or created,
            self.marked_at or created,
        )
        return min(latest, now)
