"""The demo's data: the demo merchant and a year of its orders, created once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from orderdesk.demo.catalog import ensure_demo_catalog
from orderdesk.demo.generator import OrderGenerator
from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout, Organization
from orderdesk.sandboxes.seed import register_payments, register_webhook_receivers

DEMO_ORDERS = 5000
DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoData:
    organization: Organization
    checkouts: list[Checkout]
    orders: int
    created: bool  # False when an earlier run had already created the orders
    # Payments (and refunds) newly registered at the provider sandboxes.
    sandbox_objects: int = 0


def ensure_demo_data(
    *,
    site_url: str,
    orders: int = DEMO_ORDERS,
    seed: int = DEMO_SEED,
    now: dt.datetime | None = None,
) -> DemoData:
    """Create the demo merchant and its orders unless they exist; never duplicates them.

    With SANDBOXES_ENABLED the generated payments are registered at the provider sandboxes,
    so they can be refunded through the provider, and the sandbox webhook receivers learn
    the secrets the demo's webhook actions sign with; on a later run this registers what an
    earlier version of the demo left out.
    """
    org = ensure_demo_catalog(site_url=site_url)
    checkouts = list(Checkout.objects.filter(organization=org).order_by("pk"))
    existing = Order.objects.filter(organization=org).count()
    if not existing:
        generator = OrderGenerator(checkouts, seed=seed, now=now or timezone.now())
        generator.generate(orders)
    registered = register_payments(checkouts)
    register_webhook_receivers(checkouts)
    return DemoData(
        org, checkouts, existing or orders, created=not existing, sandbox_objects=registered
    )
