"""The demo's data: the demo merchant and a year of its orders, created once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from orderdesk.demo.catalog import ensure_demo_catalog
from orderdesk.demo.generator import OrderGenerator
from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout, Organization

DEMO_ORDERS = 5000
DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoData:
    organization: Organization
    checkouts: list[Checkout]
    orders: int
    created: bool  # False when an earlier run had already created the orders


def ensure_demo_data(
    *,
    site_url: str,
    orders: int = DEMO_ORDERS,
    seed: int = DEMO_SEED,
    now: dt.datetime | None = None,
) -> DemoData:
    """Create the demo merchant and its orders unless they exist; never duplicates them."""
    org = ensure_demo_catalog(site_url=site_url)
    checkouts = list(Checkout.objects.filter(organization=org).order_by("pk"))
    existing = Order.objects.filter(organization=org).count()
    if existing:
        return DemoData(org, checkouts, existing, created=False)
    generator = OrderGenerator(checkouts, seed=seed, now=now or timezone.now())
    generator.generate(orders)
    return DemoData(org, checkouts, orders, created=True)
