"""refund_options: what a refund of an order may do, read once for the dialog and the request."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from orderdesk.actions.models import ActionSnapshot
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import Refund, RefundSettlement, RefundStatus
from orderdesk.payments.providers.base import PaymentProvider, ProviderError, RefundResult
from orderdesk.payments.refunds import (
    EPASSI_PARTIAL_MESSAGE,
    MANUAL_MESSAGE,
    NOT_AUTOMATIC_MESSAGE,
    UNCHECKED_MESSAGE,
    RefundRequest,
    RefundRoute,
    refund_options,
    refund_order,
)
from orderdesk.payments.refunds import plan as refund_plan
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider


def paid_order(world: factories.World, **kwargs: object) -> Order:
    return factories.order(world, add_ons=(world.bump,), **kwargs)  # type: ignore[arg-type]


def refund(order: Order, amounts: dict[int, int], *, via_provider: bool = True) -> Refund:
    return refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=via_provider),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def test_an_untouched_order_can_give_back_each_line_in_full(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, workbook = order.lines.order_by("position")

    options = refund_options(order)

    assert [(o.line.pk, o.pending_minor, o.max_minor) for o in options.lines] == [
        (course.pk, 0, 7900),
        (workbook.pk, 0, 900),
    ]
    assert all(o.can_remove_access for o in options.lines)
    assert (options.payment_left_minor, options.order_left_minor) == (8800, 8800)
    assert options.attempt == order.payment_attempts.get()
    assert options.refundable
    assert options.offer_access == ()


def test_pending_and_settled_refunds_are_taken_off_the_lines_and_the_payment(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course, workbook = order.lines.order_by("position")
    refund(order, {workbook.pk: 400})
    fake.answer = RefundResult("pending")
    refund(order, {course.pk: 7000})
    order.refresh_from_db()

    options = refund_options(order)

    by_line = options.by_line
    assert (by_line[course.pk].pending_minor, by_line[course.pk].max_minor) == (7000, 900)
    assert (by_line[workbook.pk].pending_minor, by_line[workbook.pk].max_minor) == (0, 500)
    # "Remove access" goes with the rest of a product's price, never past a pending refund.
    assert not by_line[course.pk].can_remove_access
    assert by_line[workbook.pk].can_remove_access
    assert options.payment_left_minor == 8800 - 400 - 7000
    assert options.order_left_minor == 8800 - 400 - 7000


def test_a_line_is_full_only_at_its_whole_remaining_price(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    course = refund_options(order).lines[0]

    assert course.is_full(7900)
    assert not course.is_full(7899)
    assert not course.is_full(0)


def test_a_card_payment_goes_through_the_provider_whole_or_in_part(
    world: factories.World, fake: FakeProvider
) -> None:
    options = refund_options(paid_order(world))

    assert options.full_route == RefundRoute("Stripe", via_provider=True)
    assert options.partial_route == RefundRoute("Stripe", via_provider=True)
    assert options.unchecked_route == RefundRoute(
        "Stripe", via_provider=False, recorded_reason=UNCHECKED_MESSAGE, unchecked=True
    )
    assert options.route(total_minor=8800, via_provider=False) == options.unchecked_route
    # What the refund row keeps, so nothing reads the reason's wording again.
    assert [r.settlement for r in (options.full_route, options.unchecked_route)] == [
        RefundSettlement.PROVIDER,
        RefundSettlement.UNCHECKED,
    ]


def test_a_partial_epassi_refund_is_recorded_only(
    world: factories.World, fake: FakeProvider
) -> None:
    options = refund_options(paid_order(world, provider="epassi", method="epassi"))

    assert options.route(total_minor=8800, via_provider=True) == RefundRoute(
        "Epassi", via_provider=True
    )
    assert options.route(total_minor=8799, via_provider=True) == RefundRoute(
        "Epassi", via_provider=False, recorded_reason=EPASSI_PARTIAL_MESSAGE
    )
    assert options.route(total_minor=8799, via_provider=True).settlement == (
        RefundSettlement.ELSEWHERE
    )


def test_a_manual_payment_is_recorded_only_with_the_next_step(
    world: factories.World, fake: FakeProvider
) -> None:
    options = refund_options(factories.order(world, provider="manual", method="invoice"))

    for route in (options.full_route, options.partial_route):
        assert (route.via_provider, route.recorded_reason) == (False, MANUAL_MESSAGE)


def test_an_order_without_a_payment_counts_what_is_left_on_the_order(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)
    order.payment_attempts.all().delete()

    options = refund_options(order)

    assert options.attempt is None
    assert options.payment_left_minor == options.order_left_minor == 8800
    assert options.is_partial(8800)
    nowhere = RefundRoute("", via_provider=False, recorded_reason=NOT_AUTOMATIC_MESSAGE)
    assert (options.full_route, options.partial_route, options.unchecked_route) == (
        nowhere,
        nowhere,
        nowhere,
    )


def test_a_provider_that_is_not_set_up_blocks_only_the_refund_through_it(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_set_up(name: str, checkout: Checkout) -> PaymentProvider:
        raise ProviderError("Stripe is not set up for this checkout", permanent=True)

    monkeypatch.setattr(refund_plan, "get_provider", not_set_up)

    options = refund_options(paid_order(world))

    assert options.full_route.problem == options.partial_route.problem
    assert options.full_route.problem.startswith("Stripe is not set up for this checkout: uncheck")
    assert options.unchecked_route.problem == ""


def test_offer_access_is_the_offer_and_checkout_level_kajabi_grants(
    world: factories.World, fake: FakeProvider
) -> None:
    order = paid_order(world)

    def grant(level: str, kind: str = ActionKind.KAJABI_GRANT) -> ActionSnapshot:
        return ActionSnapshot.objects.create(order=order, level=level, kind=kind, name=level)

    offer, checkout = grant(ActionLevel.OFFER), grant(ActionLevel.CHECKOUT)
    grant(ActionLevel.PRODUCT)
    grant(ActionLevel.OFFER, kind=ActionKind.SEND_RECEIPT)

    assert set(refund_options(order).offer_access) == {offer, checkout}


def test_a_refunded_order_is_not_refundable(world: factories.World, fake: FakeProvider) -> None:
    options = refund_options(paid_order(world, status=OrderStatus.REFUNDED))

    assert not options.refundable
    assert options.problem == "A Refunded order cannot be refunded."
    assert refund_options(paid_order(world)).problem == ""


def test_it_asks_for_the_adapter_once(
    world: factories.World, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Drawing the dialog took three plans (full, partial, unchecked), each with its adapter.
    lookups: list[str] = []
    # The fake the fixture put there.
    patched: Callable[[str, Checkout], PaymentProvider] = vars(refund_plan)["get_provider"]

    def counting(name: str, checkout: Checkout) -> PaymentProvider:
        lookups.append(name)
        return patched(name, checkout)

    monkeypatch.setattr(refund_plan, "get_provider", counting)

    refund_options(paid_order(world))

    assert lookups == ["stripe"]


def test_settled_refunds_count_only_once_booked(world: factories.World, fake: FakeProvider) -> None:
    order = paid_order(world)
    course, _ = order.lines.order_by("position")
    fake.answer = RefundResult("failed", message="Declined")
    failed = refund(order, {course.pk: 7900})
    assert failed.status == RefundStatus.FAILED
    order.refresh_from_db()

    options = refund_options(order)

    assert options.by_line[course.pk].max_minor == 7900
    assert options.payment_left_minor == 8800
