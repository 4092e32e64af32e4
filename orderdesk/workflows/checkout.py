"""What the hosted checkout does that needs more than the orders app."""

from __future__ import annotations

from django.db import DatabaseError, transaction

from orderdesk.actions.services import snapshot_actions, snapshot_new_order
from orderdesk.orders import numbers, services
from orderdesk.orders.models import Order
from orderdesk.orders.services import IngestNotFound
from orderdesk.organizations.models import Checkout


def find_order(checkout: Checkout, token: str) -> Order:
    """The checkout's order with this checkout token, with what the checkout's calls read
    of it (link, offer, discount code) loaded; IngestNotFound for any other token."""
    order = (
        Order.objects.select_related("link", "offer", "discount_code")
        .filter(checkout=checkout, checkout_token=token)
        .first()
    )
    if order is None:
        raise IngestNotFound("There is no such order in this checkout.", code="unknown_order")
    order.checkout = checkout
    return order


def open_order(
    checkout: Checkout, *, link_slug: str, currency: str | None = None, user_agent: str = ""
) -> Order:
    """Open a Started order for a checkout link and snapshot the actions it is sold with.

    The snapshot is taken now, not at payment, so later edits of the configuration never
    change what a customer bought (SPEC F5). Raises IngestError like `orders.services`.
    """
    try:
        return _open(checkout, link_slug=link_slug, currency=currency, user_agent=user_agent)
    except DatabaseError as error:
        if not numbers.is_missing_sequence(error):
            raise
    # An organization made without `post_save` (raw SQL, bulk_create) has no number sequence
    # yet; make it once, then open again.
    numbers.create_sequence(checkout.organization_id)
    return _open(checkout, link_slug=link_slug, currency=currency, user_agent=user_agent)


def _open(checkout: Checkout, *, link_slug: str, currency: str | None, user_agent: str) -> Order:
    with transaction.atomic():
        order = services.open_order(
            checkout, link_slug=link_slug, currency=currency, user_agent=user_agent
        )
        snapshot_new_order(order, (line.product_id for line in order.lines.all()))
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
