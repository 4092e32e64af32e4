"""What the hosted checkout does that needs more than the orders app."""

from __future__ import annotations

from django.db import transaction

from orderdesk.actions.services import snapshot_actions
from orderdesk.orders import services
from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout


def open_order(
    checkout: Checkout, *, link_slug: str, currency: str | None = None, user_agent: str = ""
) -> Order:
    """Open a Started order for a checkout link and snapshot the actions it is sold with.

    The snapshot is taken now, not at payment, so later edits of the configuration never
    change what a customer bought (SPEC F5). Raises IngestError like `orders.services`.
    """
    with transaction.atomic():
        order = services.open_order(
            checkout, link_slug=link_slug, currency=currency, user_agent=user_agent
        )
        snapshot_actions(order)
    return order


def add_add_on(order: Order, *, add_on_id: int) -> Order:
    """Add an order bump or pre-upsell; its product brings its product-level actions."""
    with transaction.atomic():
        order = services.add_add_on(order, add_on_id=add_on_id)
        snapshot_actions(order)
    return order


def remove_add_on(order: Order, *, add_on_id: int) -> Order:
    with transaction.atomic():
        order = services.remove_add_on(order, add_on_id=add_on_id)
        snapshot_actions(order)
    return order


def apply_discount_code(order: Order, *, code: str) -> Order:
    with transaction.atomic():
        order = services.apply_discount_code(order, code=code)
        snapshot_actions(order)
    return order


def remove_discount_code(order: Order) -> Order:
    with transaction.atomic():
        order = services.remove_discount_code(order)
        snapshot_actions(order)
    return order
