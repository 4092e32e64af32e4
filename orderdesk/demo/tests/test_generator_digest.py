"""Pins what the generator writes for one seed, so a refactoring cannot change the orders.

The digest covers every generated row and the field values that matter. Ids the generator
chooses itself (orders, lines, attempts, refunds, snapshots) are taken as they are: it numbers
them from the table's highest id, which is the same on every database. Ids of catalog rows and
users come from the database's sequence, which PostgreSQL does not roll back between tests, so
they are replaced by their rank among the rows of their table. Ids the database assigns to
child rows (tags, refund lines, runs, events) are left out, but every table is read in id order,
so the order the rows were written in counts too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import models

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.catalog.models import ActionConfig, AddOn, CheckoutLink, DiscountCode, Offer, Product
from orderdesk.demo.catalog import ensure_demo_catalog
from orderdesk.demo.generator import OrderGenerator
from orderdesk.orders.models import Order, OrderEvent, OrderLine, OrderTag
from orderdesk.organizations.models import Checkout, Organization, User
from orderdesk.payments.models import PaymentAttempt, Refund, RefundLine

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)

# The same on SQLite (executemany) and PostgreSQL (COPY): both store the same values.
# Issue 16 took the organization's order counter out of the digest (numbers come from a
# sequence now); the same code before it gave this digest without the counter too.
DIGEST = "cb1f5f79d00f9b2523557b54caaccd9eb0f8276998ce9a2cd5ab0e068dd516af"

# Foreign keys to rows the generator reads but does not write.
REFERENCES: dict[str, type[models.Model]] = {
    "organization_id": Organization,
    "checkout_id": Checkout,
    "link_id": CheckoutLink,
    "offer_id": Offer,
    "discount_code_id": DiscountCode,
    "product_id": Product,
    "add_on_id": AddOn,
    "config_id": ActionConfig,
    "created_by_id": User,
    "triggered_by_id": User,
    "actor_user_id": User,
}

GENERATED: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (
        Order,
        (
            "id", "organization_id", "checkout_id", "number", "link_id", "offer_id", "status",
            "action_health", "currency", "subtotal_minor", "discount_minor", "vat_minor",
            "total_minor", "refunded_minor", "customer_email", "first_name", "last_name",
            "phone", "address_line1", "postal_code", "city", "region", "country",
            "extra_fields", "analytics_consent", "source", "tags", "discount_code_id",
            "device_type", "user_agent", "created_at", "updated_at", "paid_at", "completed_at",
            "marked_completed_at",
        ),
    ),
    (OrderTag, ("order_id", "checkout_id", "tag", "created_at")),
    (
        OrderLine,
        (
            "id", "order_id", "kind", "product_id", "add_on_id", "name", "position",
            "unit_price_minor", "quantity", "list_price_minor", "discount_minor", "vat_rate",
            "vat_minor", "total_minor", "refunded_minor", "stamp",
        ),
    ),
    (
        PaymentAttempt,
        (
            "id", "order_id", "provider", "method", "status", "amount_minor", "currency",
            "refunded_minor", "stamp", "provider_reference", "failure_message", "created_at",
            "updated_at", "succeeded_at",
        ),
    ),
    (
        Refund,
        (
            "id", "order_id", "payment_attempt_id", "status", "origin", "amount_minor",
            "currency", "via_provider", "settlement", "reason", "recorded_only_reason",
            "idempotency_key",
            "provider_reference", "failure_message", "remove_offer_access", "created_by_id",
            "created_at", "settled_at", "reversed_at",
        ),
    ),
    (RefundLine, ("refund_id", "order_line_id", "amount_minor", "vat_minor", "remove_access")),
    (
        ActionSnapshot,
        (
            "id", "order_id", "config_id", "config_version", "level", "kind", "product_id",
            "name", "settings", "status", "attempts", "last_error", "last_run_at",
            "succeeded_at", "position",
        ),
    ),
    (
        ActionRun,
        (
            "snapshot_id", "attempt", "status", "run_after", "started_at", "finished_at",
            "http_status", "error_message", "triggered_by_id", "created_at",
        ),
    ),
    (
        OrderEvent,
        (
            "order_id", "type", "message", "data", "actor_type", "actor_user_id",
            "actor_label", "created_at",
        ),
    ),
    # The generator also counts the discount codes' uses (the orders carry their numbers).
    (Organization, ("slug",)),
    (DiscountCode, ("code", "times_used")),
)  # fmt: skip


def plain(value: Any) -> Any:
    """A value as JSON the same way on every database."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value.normalize())
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def reference_ranks() -> dict[str, dict[Any, int]]:
    """Per foreign key column, each referenced row's place among the rows of its table."""
    return {
        name: {
            pk: rank
            for rank, pk in enumerate(
                model._default_manager.order_by("pk").values_list("pk", flat=True)
            )
        }
        for name, model in REFERENCES.items()
    }


def lines(ranks: dict[str, dict[Any, int]]) -> Iterator[str]:
    for model, fields in GENERATED:
        rows = []
        for row in model._default_manager.order_by("pk").values_list(*fields):
            values = [
                ranks[name].get(value) if name in ranks and value is not None else plain(value)
                for name, value in zip(fields, row, strict=True)
            ]
            rows.append(json.dumps(values, sort_keys=True, ensure_ascii=False))
        yield f"{model.__name__} {len(rows)}"
        yield from rows


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_seed_42_generates_the_pinned_orders() -> None:
    org = ensure_demo_catalog(site_url="http://testserver")
    checkouts = list(Checkout.objects.filter(organization=org).order_by("pk"))
    OrderGenerator(checkouts, seed=42, now=NOW).generate(1500, batch_size=500)
    # The last hours too, densely: orders still open, paid minutes ago or refunded soon after.
    last_hours = OrderGenerator(checkouts, seed=42, now=NOW)
    last_hours.start = NOW - dt.timedelta(hours=4)
    last_hours.generate(800, batch_size=500)

    text = "\n".join(lines(reference_ranks()))

    assert Order.objects.count() == 2300
    assert hashlib.sha256(text.encode()).hexdigest() == DIGEST
