"""Requires attention grouped by cause: one outage is one group."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orderdesk.actions.models import SnapshotStatus
from orderdesk.orders import transitions
from orderdesk.orders.models import Order
from orderdesk.payments.models import Dispute
from orderdesk.recovery.causes import failure_groups, find_group, normalize_error
from orderdesk.recovery.tests.builders import failing_order, kajabi_config
from orderdesk.testing import factories
from orderdesk.testing.factories import World


@pytest.mark.parametrize(
    ("message", "normalized"),
    [
        ("Kajabi answered 422: Email: is invalid", "Kajabi answered …: Email: is invalid"),
        (
            "Kajabi answered 422: anna.k+x@example.com is not a member (id 81234)",
            "Kajabi answered …: … is not a member (id …)",
        ),
        (
            "Request 6f1c2a4e-9b7d-4c1e-8f3a-2b5d6e7f8a9b failed at 2026-12-05T16:01:02Z",
            "Request … failed at …",
        ),
        ("CRM did not answer within 15 s", "CRM did not answer within … s"),
        ("Payment pi_3NxYz12AbCdEf refused at 14:05:09", "Payment … refused at …"),
    ],
)
def test_it_takes_what_varies_out_of_an_error(message: str, normalized: str) -> None:
    assert normalize_error(message) == normalized


def _dispute(order: Order) -> None:
    attempt = order.payment_attempts.get()
    Dispute.objects.create(
        order=order,
        payment_attempt=attempt,
        provider="stripe",
        provider_reference=f"dp_{order.pk}",
        amount_minor=order.total_minor,
        currency=order.currency,
        status="needs_response",
        opened_at=timezone.now() - dt.timedelta(hours=1),
        last_event_at=timezone.now(),
    )
    transitions.set_dispute_open(order, True)


def test_one_outage_is_one_group_with_its_count_times_and_an_example(world: World) -> None:
    kajabi = kajabi_config(world)
    crm = kajabi_config(world, name="Notify CRM")
    now = timezone.now()
    outage = [
        failing_order(
            world,
            kajabi,
            f"Kajabi answered 500: request {n}a9f3c1e2 failed for buyer{n}@example.com",
            minutes_ago=60 - n,
        )
        for n in range(3)
    ]
    other = failing_order(world, crm, "CRM answered 404: Not Found")
    # Paid a minute ago: its actions still have time to finish.
    failing_order(world, kajabi, "Kajabi answered 500: request 1 failed", minutes_ago=1)
    # Another organization's outage is not ours.
    theirs = failing_order(world, kajabi, "Kajabi answered 500: request 9 failed")
    Order.objects.filter(pk=theirs.pk).update(
        checkout=world.other_checkout, organization=world.other_checkout.organization
    )
    disputed = factories.order(world, created_at=now - dt.timedelta(hours=2))
    _dispute(disputed)

    groups = failure_groups(Order.objects.filter(checkout=world.checkout), now)

    assert [(g.label, g.count) for g in groups] == [
        ("Grant Kajabi offer: Kajabi answered …: request … failed for …", 3),
        ("Notify CRM: CRM answered …: Not Found", 1),
        ("Open dispute", 1),
    ]
    kajabi_group = groups[0]
    assert kajabi_group.failed == 3
    assert kajabi_group.first_seen == outage[0].paid_at
    assert kajabi_group.last_seen == outage[2].paid_at
    assert kajabi_group.example_number == outage[2].number
    assert kajabi_group.order_ids == sorted(o.pk for o in outage)
    assert groups[1].example_number == other.number
    assert groups[2].example_number == disputed.number
    assert find_group(Order.objects.filter(checkout=world.checkout), now, groups[0].key) == (
        kajabi_group
    )
    assert find_group(Order.objects.all(), now, "actions:0:nothing") is None
    assert find_group(Order.objects.all(), now, "lost") is None


def test_a_group_says_when_its_configuration_changed_since(world: World) -> None:
    kajabi = kajabi_config(world)
    failing_order(world, kajabi, "Kajabi answered 422: Email: is invalid")
    retrying = failing_order(
        world, kajabi, "Kajabi answered 422: Email: is invalid", status=SnapshotStatus.PENDING
    )
    orders = Order.objects.filter(checkout=world.checkout)

    (group,) = failure_groups(orders, timezone.now())
    assert (group.count, group.failed, group.config_differs) == (2, 1, False)
    assert retrying.pk in group.order_ids

    kajabi.version = 2
    kajabi.save()
    (group,) = failure_groups(orders, timezone.now())
    assert group.snapshot_versions == [1]
    assert group.config_version == 2
    assert group.config_differs
