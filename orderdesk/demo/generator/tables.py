"""The tables a generated order goes into, and the writing of one finished order's rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.catalog.models import ActionConfig
from orderdesk.demo.bulk import BulkWriter
from orderdesk.orders.models import Order, OrderEvent, OrderLine, OrderTag, new_checkout_token
from orderdesk.payments.models import PaymentAttempt, Refund, RefundLine

if TYPE_CHECKING:
    from orderdesk.demo.generator.draft import OrderDraft

ORDER_COLUMNS = (
    "id", "organization_id", "checkout_id", "number", "link_id", "offer_id", "status",
    "action_health", "currency", "subtotal_minor", "discount_minor", "vat_minor", "total_minor",
    "refunded_minor", "customer_email", "first_name", "last_name", "phone", "address_line1",
    "postal_code", "city", "region", "country", "extra_fields", "analytics_consent", "source",
    "tags", "discount_code_id", "device_type", "user_agent", "created_at", "updated_at",
    "paid_at", "completed_at", "marked_completed_at", "checkout_token",
)  # fmt: skip
TAG_COLUMNS = ("order_id", "checkout_id", "tag", "created_at")
LINE_COLUMNS = (
    "id", "order_id", "kind", "product_id", "add_on_id", "name", "position", "unit_price_minor",
    "quantity", "list_price_minor", "discount_minor", "vat_rate", "vat_minor", "total_minor",
    "refunded_minor", "stamp",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "order_id", "provider", "method", "status", "amount_minor", "currency",
    "refunded_minor", "stamp", "provider_reference", "failure_message", "created_at",
    "updated_at", "succeeded_at",
)  # fmt: skip
REFUND_COLUMNS = (
    "id", "order_id", "payment_attempt_id", "status", "origin", "amount_minor", "currency",
    "via_provider", "settlement", "reason", "recorded_only_reason", "idempotency_key",
    "provider_reference",
    "failure_message", "remove_offer_access", "created_by_id", "created_at", "settled_at",
    "reversed_at",
)  # fmt: skip
REFUND_LINE_COLUMNS = (
    "refund_id", "order_line_id", "amount_minor", "vat_minor", "remove_access",
)  # fmt: skip
SNAPSHOT_COLUMNS = (
    "id", "order_id", "config_id", "config_version", "level", "kind", "product_id", "name",
    "settings", "status", "attempts", "last_error", "last_run_at", "succeeded_at", "position",
)  # fmt: skip
RUN_COLUMNS = (
    "snapshot_id", "attempt", "status", "run_after", "started_at", "finished_at",
    "http_status", "error_message", "triggered_by_id", "created_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "order_id", "type", "message", "data", "actor_type", "actor_user_id", "actor_label",
    "created_at",
)  # fmt: skip

Row = list[Any]  # a row still amended in place before it is written

# A generated attempt, line or refund row, by column (the drafts fill and amend them in place).
ATTEMPT_ID = ATTEMPT_COLUMNS.index("id")
ATTEMPT_STATUS = ATTEMPT_COLUMNS.index("status")
ATTEMPT_AMOUNT = ATTEMPT_COLUMNS.index("amount_minor")
ATTEMPT_REFUNDED = ATTEMPT_COLUMNS.index("refunded_minor")
ATTEMPT_CREATED = ATTEMPT_COLUMNS.index("created_at")
LINE_ID = LINE_COLUMNS.index("id")
LINE_REFUNDED = LINE_COLUMNS.index("refunded_minor")
LINE_VAT = LINE_COLUMNS.index("vat_minor")
LINE_TOTAL = LINE_COLUMNS.index("total_minor")
RUN_FINISHED = RUN_COLUMNS.index("finished_at")
RUN_TRIGGERED_BY = RUN_COLUMNS.index("triggered_by_id")  # the staff member who re-ran it


class Tables:
    """The generated tables, registered parents first so each flush writes parents first."""

    def __init__(self, writer: BulkWriter) -> None:
        self.order = writer.table(Order, ORDER_COLUMNS)
        self.tag = writer.table(OrderTag, TAG_COLUMNS)
        self.line = writer.table(OrderLine, LINE_COLUMNS)
        self.attempt = writer.table(PaymentAttempt, ATTEMPT_COLUMNS)
        self.refund = writer.table(Refund, REFUND_COLUMNS)
        self.refund_line = writer.table(RefundLine, REFUND_LINE_COLUMNS)
        self.snapshot = writer.table(ActionSnapshot, SNAPSHOT_COLUMNS)
        self.run = writer.table(ActionRun, RUN_COLUMNS)
        self.event = writer.table(OrderEvent, EVENT_COLUMNS)
        self.settings_json: dict[int, str] = {}

    def add(self, order: OrderDraft, now: dt.datetime) -> None:
        """Buffer a finished order's rows."""
        link = order.link.link
        checkout_id = order.plan.checkout.pk
        quote = order.quote
        self.order.rows.append(
            (
                order.id, order.plan.checkout.organization_id, checkout_id, order.number,
                link.pk, order.link.offer.pk, order.status, order.health, order.currency,
                quote.subtotal_minor, quote.discount_minor, quote.vat_minor, quote.total_minor,
                order.refunded_total, *order.details, link.source, order.link.tags_json,
                order.code.pk if order.code else None, order.device, order.user_agent,
                order.created, order.updated_at(now), order.paid_at, order.completed_at,
                # Random, not from the seed: a token anyone could derive would be no secret.
                order.marked_at, new_checkout_token(),
            )
        )  # fmt: skip
        for tag in link.tags:
            self.tag.rows.append((order.id, checkout_id, tag, order.created))
        self.line.rows.extend(tuple(row) for row in order.lines)
        self.attempt.rows.extend(tuple(row) for row in order.attempts)
        self.refund.rows.extend(order.refund_rows)
        self.refund_line.rows.extend(order.refund_line_rows)
        for position, snapshot in enumerate(order.snapshots):
            config = snapshot.config
            self.snapshot.rows.append(
                (
                    snapshot.id, order.id, config.pk, config.version, config.level, config.kind,
                    snapshot.product_id, config.name, self._settings(config), snapshot.status,
                    snapshot.attempts, snapshot.last_error, snapshot.last_run_at,
                    snapshot.succeeded_at, position,
                )
            )  # fmt: skip
            self.run.rows.extend(snapshot.runs)
        self.event.rows.extend(order.events)

    def _settings(self, config: ActionConfig) -> str:
        if config.pk not in self.settings_json:
            self.settings_json[config.pk] = json.dumps(config.settings)
        return self.settings_json[config.pk]
