from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.utils import timezone

from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, Refund
from orderdesk.payments.providers.base import PaymentProvider, PaymentStart
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.services import hand_payment_to_provider
from orderdesk.sandboxes import store
from orderdesk.sandboxes.accounts import install_sandbox_accounts
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.testing.fake_providers import fake, fakes

__all__ = ["begin_payment", "fake", "fakes", "refund_row", "sandboxed"]


@pytest.fixture
def sandboxed(transactional_db: None, live_server: Any, settings: Any) -> World:
    """The world with its checkout's adapters pointed at the sandboxes on a live server."""
    return sandboxed_world(live_server.url, settings)


def sandboxed_world(base_url: str, settings: Any) -> World:
    settings.SITE_URL = base_url
    settings.STRIPE_API_BASE = f"{base_url}/sandbox/stripe"
    settings.PAYTRAIL_API_BASE = f"{base_url}/sandbox/paytrail"
    settings.EPASSI_API_BASE = f"{base_url}/sandbox/epassi"
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    world = factories.world()
    install_sandbox_accounts(world.checkout)
    return world


def begin_payment(
    world: World, provider: str, method: str = "card"
) -> tuple[Order, PaymentAttempt, PaymentStart, PaymentProvider]:
    """An order whose customer has just been handed to the provider."""
    order = factories.order(world, status=OrderStatus.IN_PROGRESS)
    attempt = PaymentAttempt.objects.create(
        order=order,
        provider=provider,
        method=method,
        amount_minor=order.total_minor,
        currency=order.currency,
        stamp=uuid.uuid4().hex,
        created_at=timezone.now(),
    )
    transitions.start_processing(order, actor=Actor.customer())
    start = hand_payment_to_provider(attempt)
    return order, attempt, start, get_provider(provider, world.checkout)


def wait_for_stalled_sandbox() -> None:
    """Let a sandbox answering after a client timeout finish before the test ends."""
    time.sleep(store.STALL_EXTRA_SECONDS + 0.75)


def refund_row(attempt: PaymentAttempt, amount_minor: int) -> Refund:
    return Refund.objects.create(
        order=attempt.order,
        payment_attempt=attempt,
        amount_minor=amount_minor,
        currency=attempt.currency,
        idempotency_key=f"refund-{uuid.uuid4().hex}",
    )
