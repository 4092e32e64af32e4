"""Finding the order a staff member or an API token asks for, by its number.

An order the caller may not see is a 404 whatever the reason (no such number, another
organization, a checkout without a role), so a number never reveals that an order exists.
"""

from __future__ import annotations

from django.http import Http404

from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.organizations.models import ApiToken
from orderdesk.organizations.roles import MemberAccess, require_token_can_act

# What the panel and every verb read beside the order itself.
_RELATED = ("checkout", "organization", "offer", "link", "discount_code")


def _one(orders: OrderQuerySet, number: int) -> Order:
    order = orders.select_related(*_RELATED).filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    return order


def get_order_for_member(access: MemberAccess, number: int, *, acting: bool = False) -> Order:
    """The order with this number in the member's organization, on any of their checkouts.

    With `acting`, a role that may only view gets PermissionDenied (403). Opening an order
    of another checkout does not switch the member's current checkout: the caller decides.
    """
    order = _one(Order.objects.visible_to(access), number)
    if acting:
        access.require_can_act_on(order.checkout_id)
    return order


def get_order_for_token(token: ApiToken, number: int, *, acting: bool = False) -> Order:
    """The order with this number on the token's checkout; Http404 for any other order."""
    order = _one(Order.objects.for_token(token), number)
    if acting:
        require_token_can_act(token)
    return order
