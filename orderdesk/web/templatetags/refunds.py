"""Template filters of the Refund dialog."""

from __future__ import annotations

from django import template

from orderdesk.orders.models import Order, OrderStatus

register = template.Library()


@register.filter
def is_refundable(order: Order) -> bool:
    return order.status in OrderStatus.REFUNDABLE
