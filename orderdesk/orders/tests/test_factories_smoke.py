from __future__ import annotations

from orderdesk.orders.models import OrderStatus
from orderdesk.testing import factories


def test_it_builds_a_priced_order(world: factories.World) -> None:
    order = factories.order(world, add_ons=(world.bump,))
    assert order.number == 1
    assert order.total_minor == 7900 + 900
    assert sum(line.total_minor for line in order.lines.all()) == order.total_minor
    assert order.status == OrderStatus.PAID
