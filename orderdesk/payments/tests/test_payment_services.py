"""Starting payment attempts and applying their results: idempotent, never backwards."""

from __future__ import annotations

import pytest

from orderdesk.actions.models import ActionRun, RunStatus
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel, DiscountCode
from orderdesk.orders import services as orders
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import ActionHealth, Order, OrderStatus
from orderdesk.orders.pricing import PricingError
from orderdesk.orders.services import IngestError
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.payments import services
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, ProviderAccount
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.workflows import checkout

STRIPE = Actor.provider("Stripe")


@pytest.fixture(autouse=True)
def accounts(world: factories.World) -> None:
    """Stripe takes cards and MobilePay; Paytrail has no method list, so it takes any."""
    ProviderAccount.objects.create(
        checkout=world.checkout, provider="stripe", methods=["card", "mobilepay"]
    )
    ProviderAccount.objects.create(checkout=world.checkout, provider="paytrail")


def in_progress(w: factories.World, *, code: str = "") -> Order:
    order = checkout.open_order(w.checkout, link_slug=w.link.slug, currency="EUR")
    if code:
        order = orders.apply_discount_code(order, code=code)
    return orders.save_billing(order, email="maija@example.com", country="FI")


def start(order: Order, **overrides: object) -> PaymentAttempt:
    kwargs: dict[str, object] = {
        "provider": "stripe",
        "method": "card",
        "amount_minor": order.total_minor,
        "currency": order.currency,
    }
    kwargs.update(overrides)
    return services.start_payment(order, **kwargs)  # type: ignore[arg-type]


def with_receipt_action(w: factories.World) -> None:
    ActionConfig.objects.create(
        checkout=w.checkout, level=ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT
    )


def test_it_starts_an_attempt_and_moves_the_order_to_processing(
    world: factories.World,
) -> None:
    order = in_progress(world)

    attempt = start(order)

    attempt.refresh_from_db()
    assert (attempt.provider, attempt.method, attempt.status) == (
        "stripe",
        "card",
        PaymentStatus.INITIATED,
    )
    assert (attempt.amount_minor, attempt.currency) == (7900, "EUR")
    assert len(attempt.stamp) == 32
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    event = order.events.get(type=EventType.PAYMENT_STARTED)
    assert event.data["stamp"] == attempt.stamp


def test_it_gives_every_attempt_its_own_stamp(world: factories.World) -> None:
    order = in_progress(world)

    first, second = start(order), start(order, provider="paytrail", method="osuuspankki")

    assert first.stamp != second.stamp
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        (
            {"amount_minor": 7899},
            "amount_mismatch",
            "€78.99 does not match the order total of €79.00",
        ),
        ({"currency": "SEK"}, "amount_mismatch", "does not match the order total of €79.00"),
        ({"provider": "paypal"}, "unknown_provider", "Unknown payment provider"),
        ({"method": " "}, "invalid_method", "Choose a payment method"),
        ({"provider": "epassi"}, "provider_not_available", "Epassi is not available"),
        ({"method": "klarna"}, "method_not_available", "Stripe does not offer 'klarna'"),
    ],
)
def test_it_refuses_a_payment_that_does_not_match_and_changes_nothing(
    world: factories.World, overrides: dict[str, object], code: str, message: str
) -> None:
    order = in_progress(world)
    before = database_state()

    with pytest.raises(IngestError, match=message) as refused:
        start(order, **overrides)

    assert refused.value.code == code
    assert database_state() == before


def test_it_refuses_a_payment_before_billing(world: factories.World) -> None:
    order = checkout.open_order(world.checkout, link_slug=world.link.slug)

    with pytest.raises(TransitionNotAllowed, match="is Started: cannot start a payment"):
        start(order)

    assert not PaymentAttempt.objects.exists()


def test_it_rechecks_the_discount_code_when_payment_starts(world: factories.World) -> None:
    code = factories.discount_code(world.checkout, "SAVE10", usage_limit=1)
    order = in_progress(world, code="SAVE10")
    DiscountCode.objects.filter(pk=code.pk).update(times_used=1)  # someone else paid first
    before = database_state()

    with pytest.raises(PricingError, match="used up"):
        start(order)

    assert database_state() == before


def test_it_completes_an_order_without_actions_on_success(world: factories.World) -> None:
    attempt = start(in_progress(world))

    attempt = services.record_payment_result(
        attempt, succeeded=True, actor=STRIPE, provider_reference="pi_123"
    )

    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == OrderStatus.COMPLETED
    assert order.paid_at is not None
    attempt.refresh_from_db()
    assert (attempt.status, attempt.provider_reference) == (PaymentStatus.SUCCEEDED, "pi_123")
    assert attempt.succeeded_at is not None
    event = order.events.get(type=EventType.PAYMENT_SUCCEEDED)
    assert (event.actor_type, event.actor_label) == ("provider", "Stripe")


def test_it_marks_paid_and_queues_one_run_per_action(world: factories.World) -> None:
    with_receipt_action(world)
    attempt = start(in_progress(world))

    attempt = services.record_payment_result(attempt, succeeded=True, actor=STRIPE)
    services.record_payment_result(attempt, succeeded=True, actor=STRIPE)

    order = Order.objects.get(pk=attempt.order_id)
    assert (order.status, order.action_health) == (OrderStatus.PAID, ActionHealth.PENDING)
    (run,) = ActionRun.objects.filter(snapshot__order=order)
    assert run.status == RunStatus.QUEUED


def test_it_counts_the_discount_code_once(world: factories.World) -> None:
    code = factories.discount_code(world.checkout, "SAVE10")
    attempt = start(in_progress(world, code="SAVE10"))

    for _ in range(3):
        services.record_payment_result(attempt, succeeded=True, actor=STRIPE)

    code.refresh_from_db()
    assert code.times_used == 1


def test_it_changes_nothing_on_a_repeated_success(world: factories.World) -> None:
    with_receipt_action(world)
    attempt = start(in_progress(world))
    services.record_payment_result(attempt, succeeded=True, actor=STRIPE)
    before = database_state()

    services.record_payment_result(attempt, succeeded=True, actor=STRIPE)

    assert database_state() == before


def test_it_never_moves_backwards_on_a_failure_after_success(world: factories.World) -> None:
    attempt = start(in_progress(world))
    services.record_payment_result(attempt, succeeded=True, actor=STRIPE)
    before = database_state()

    services.record_payment_result(attempt, succeeded=False, actor=STRIPE, message="Card declined")

    assert database_state() == before


def test_it_sends_the_order_back_to_in_progress_on_failure(world: factories.World) -> None:
    attempt = start(in_progress(world))

    services.record_payment_result(attempt, succeeded=False, actor=STRIPE, message="Card declined")

    attempt.refresh_from_db()
    assert (attempt.status, attempt.failure_message) == (PaymentStatus.FAILED, "Card declined")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == OrderStatus.IN_PROGRESS
    assert order.events.get(type=EventType.PAYMENT_FAILED).message == "Card declined"


def test_it_changes_nothing_on_a_repeated_failure(world: factories.World) -> None:
    attempt = start(in_progress(world))
    services.record_payment_result(attempt, succeeded=False, actor=STRIPE, message="Card declined")
    before = database_state()

    services.record_payment_result(attempt, succeeded=False, actor=STRIPE, message="Card declined")

    assert database_state() == before


def test_it_accepts_a_success_after_a_failure_of_the_same_attempt(
    world: factories.World,
) -> None:
    attempt = start(in_progress(world))
    services.record_payment_result(attempt, succeeded=False, actor=STRIPE)

    services.record_payment_result(attempt, succeeded=True, actor=STRIPE)

    assert Order.objects.get(pk=attempt.order_id).status == OrderStatus.COMPLETED


def test_it_keeps_waiting_when_an_older_attempt_fails(world: factories.World) -> None:
    order = in_progress(world)
    older, newer = start(order), start(order, method="mobilepay")

    services.record_payment_result(older, succeeded=False, actor=STRIPE)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING
    newer.refresh_from_db()
    assert newer.status == PaymentStatus.INITIATED


def test_it_records_a_second_success_without_moving_the_order(world: factories.World) -> None:
    order = in_progress(world)
    first, second = start(order), start(order, method="mobilepay")
    services.record_payment_result(first, succeeded=True, actor=STRIPE)
    completed = Order.objects.get(pk=order.pk)

    services.record_payment_result(second, succeeded=True, actor=STRIPE)

    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.paid_at) == (OrderStatus.COMPLETED, completed.paid_at)
    assert "paid twice" in order.events.order_by("pk").last().message  # type: ignore[union-attr]
