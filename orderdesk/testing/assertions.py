"""Checks shared by tests: "nothing changed" means every row that ingest can touch is as before."""

from __future__ import annotations

from typing import Any

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.catalog.models import DiscountCode
from orderdesk.orders.models import Order, OrderEvent, OrderLine, OrderTag
from orderdesk.organizations.models import Organization
from orderdesk.payments.models import PaymentAttempt

WATCHED = (
    Organization,
    Order,
    OrderLine,
    OrderTag,
    OrderEvent,
    PaymentAttempt,
    ActionSnapshot,
    ActionRun,
    DiscountCode,
)


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of the models ingest writes, ordered by pk, for before/after comparisons."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in WATCHED:
        manager: Any = model._default_manager
        state[model.__name__] = list(manager.order_by("pk").values())
    return state
