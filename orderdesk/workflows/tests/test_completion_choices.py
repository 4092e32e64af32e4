from __future__ import annotations

import pytest
from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.orders.models import OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.workflows.completion import (
    MARK_COMPLETED,
    MARK_COMPLETED_AND_RERUN,
    CompletionChoices,
    completion_choices,
)

S = OrderStatus
A = SnapshotStatus
PLAIN = MARK_COMPLETED
RERUN = MARK_COMPLETED_AND_RERUN

# status, marked completed before, action statuses, refund statuses
#   -> None (no button) or (label, "Use latest configuration", "Also restore refunded data")
CASES = [
    (S.STARTED, False, [], [], None),
    (S.IN_PROGRESS, False, [A.FAILED], [], None),
    (S.PROCESSING, False, [], [], None),
    (S.PAID, False, [], [], (PLAIN, False, False)),
    (S.PAID, False, [A.PENDING], [], (PLAIN, False, False)),
    (S.PAID, False, [A.SUCCEEDED, A.FAILED], [], (PLAIN, True, False)),
    (S.COMPLETED, False, [A.SUCCEEDED], [], None),
    (S.MARKED_COMPLETED, True, [A.SUCCEEDED], [], None),
    (S.MARKED_COMPLETED, True, [A.PENDING], [], (PLAIN, False, False)),
    (S.MARKED_COMPLETED, True, [A.SUCCEEDED, A.FAILED], [], (RERUN, True, False)),
    (S.PARTIALLY_REFUNDED, False, [A.FAILED], [RefundStatus.SUCCEEDED], (PLAIN, True, True)),
    (S.PARTIALLY_REFUNDED, True, [A.FAILED], [RefundStatus.RECORDED], (RERUN, True, True)),
    (S.REFUNDED, False, [A.SUCCEEDED], [RefundStatus.SUCCEEDED], (PLAIN, False, True)),
    (S.REFUNDED, False, [A.REVOKED], [RefundStatus.RECORDED], (PLAIN, False, True)),
    (S.PAID, False, [], [RefundStatus.FAILED], (PLAIN, False, False)),
    (S.PAID, False, [], [RefundStatus.REVERSED], (PLAIN, False, False)),
    (S.MARKED_COMPLETED, True, [A.SUCCEEDED], [RefundStatus.REVERSED], None),
]


@pytest.mark.parametrize(("status", "marked", "actions", "refunds", "expected"), CASES)
def test_it_labels_the_button_and_offers_the_options_that_apply(
    world: World,
    status: OrderStatus,
    marked: bool,
    actions: list[str],
    refunds: list[str],
    expected: tuple[str, bool, bool] | None,
) -> None:
    order = factories.order(
        world, status=status, marked_completed_at=timezone.now() if marked else None
    )
    for position, action_status in enumerate(actions):
        ActionSnapshot.objects.create(
            order=order, level="offer", kind="kajabi_grant", status=action_status, position=position
        )
    for i, refund_status in enumerate(refunds):
        Refund.objects.create(
            order=order,
            status=refund_status,
            amount_minor=100,
            currency=order.currency,
            idempotency_key=f"refund-{order.pk}-{i}",
        )

    choices = completion_choices(order)

    shown = (
        CompletionChoices(
            choices.label, choices.show_use_latest_config, choices.show_restore_refunded_data
        )
        if choices
        else None
    )
    assert shown == (CompletionChoices(*expected) if expected else None)
