"""Bulk jobs: the single-order services over many orders, once each, resumable, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django import Settings

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order, OrderEvent, OrderStatus
from orderdesk.organizations.models import CheckoutMembership
from orderdesk.recovery.causes import action_groups
from orderdesk.recovery.jobs import (
    NOTHING_OF_CAUSE,
    NOTHING_TO_COMPLETE,
    NOTHING_TO_RERUN,
    ROLE_LOST,
    BulkRefused,
    BulkRequest,
    ConfirmationNeeded,
    _claim,
    _process,
    _still_mine,
    create_bulk_job,
    job_reasons,
    run_bulk_job,
    sweep_bulk_jobs,
)
from orderdesk.recovery.models import BulkJob, BulkVerb, ItemOutcome, JobStatus
from orderdesk.recovery.selection import orders_for
from orderdesk.recovery.tests.builders import failing_order, kajabi_config, snapshot_of
from orderdesk.testing import factories
from orderdesk.testing.factories import World

ERROR = "Kajabi answered 500: Internal Server Error"


def _orders(world: World) -> list[Order]:
    config = kajabi_config(world)
    return [failing_order(world, config, ERROR, minutes_ago=60 + n) for n in range(3)]


def _job(world: World, verb: BulkVerb = BulkVerb.RERUN_FAILED, **fields: object) -> BulkJob:
    request = BulkRequest(verb=verb, key=str(fields.pop("key", "key-0001")), **fields)  # type: ignore[arg-type]
    job, _new = create_bulk_job(
        Order.objects.filter(checkout=world.checkout),
        checkout=world.checkout,
        request=request,
        by=world.sam,
    )
    return job


def _reruns_by(order: Order) -> list[OrderEvent]:
    return list(order.events.filter(type=EventType.ACTION_RERUN))


def test_it_reruns_each_orders_failed_actions_as_the_staff_member(world: World) -> None:
    failed = _orders(world)
    fine = factories.order(world, status=OrderStatus.COMPLETED)

    job = run_bulk_job(_job(world).pk)

    assert job is not None
    assert (job.status, job.total, job.done, job.skipped, job.failed) == (
        JobStatus.FINISHED,
        4,
        3,
        1,
        0,
    )
    for order in failed:
        (event,) = _reruns_by(order)
        assert event.actor_user == world.sam
        assert ActionSnapshot.objects.get(order=order).status == SnapshotStatus.PENDING
    item = job.items.get(order=fine)
    assert (item.outcome, item.reason) == (ItemOutcome.SKIPPED, NOTHING_TO_RERUN)
    assert [(r.outcome, r.reason, r.count, r.example_number) for r in job_reasons(job)] == [
        (ItemOutcome.SKIPPED, NOTHING_TO_RERUN, 1, fine.number)
    ]


def test_it_marks_orders_completed_through_the_one_rule_book(world: World) -> None:
    failed = _orders(world)
    refunded = factories.order(world, status=OrderStatus.REFUNDED)
    Order.objects.filter(pk=refunded.pk).update(refunded_minor=refunded.total_minor)
    started = factories.order(world, status=OrderStatus.STARTED)

    job = run_bulk_job(_job(world, BulkVerb.MARK_COMPLETED, use_latest_config=True).pk)

    assert job is not None
    assert (job.done, job.skipped, job.failed) == (3, 2, 0)
    for order in failed:
        order.refresh_from_db()
        assert order.status == OrderStatus.MARKED_COMPLETED
        assert order.events.filter(type=EventType.MARKED_COMPLETED, actor_user=world.sam).exists()
    assert job.items.get(order=started).reason == NOTHING_TO_COMPLETE
    # Refunded in full: Mark as Completed refuses it with its own words.
    assert "cannot" in job.items.get(order=refunded).reason
    refunded.refresh_from_db()
    assert refunded.status == OrderStatus.REFUNDED


def test_the_same_request_twice_makes_one_job(world: World) -> None:
    _orders(world)
    first = _job(world)
    again, new = create_bulk_job(
        Order.objects.filter(checkout=world.checkout),
        checkout=world.checkout,
        request=BulkRequest(verb=BulkVerb.RERUN_FAILED, key="key-0001"),
        by=world.sam,
    )
    assert (again.pk, new) == (first.pk, False)
    assert BulkJob.objects.count() == 1
    with pytest.raises(BulkRefused) as refused:
        _job(world, BulkVerb.MARK_COMPLETED)
    assert refused.value.code == "idempotency_key_reused"
    # Run twice (a task enqueued twice): the second finds nothing to do.
    assert run_bulk_job(first.pk) is not None
    assert run_bulk_job(first.pk) is None
    for order in Order.objects.filter(checkout=world.checkout):
        assert len(_reruns_by(order)) == 1


def test_a_groups_rerun_reruns_that_causes_actions_only(world: World) -> None:
    kajabi = kajabi_config(world)
    webhook = ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.WEBHOOK,
        name="Notify CRM",
        settings={"url": "http://crm.invalid/hook"},
    )
    outage = [failing_order(world, kajabi, f"Kajabi timed out after {n}0 s") for n in (3, 4)]
    # The first order's webhook failed too: another cause, with a group of its own.
    snapshot_of(outage[0], webhook, "CRM answered 410: Gone")
    group = next(
        g
        for g in action_groups(Order.objects.filter(checkout=world.checkout), timezone.now())
        if g.config_id == kajabi.pk
    )
    selection = orders_for(
        Order.objects.filter(checkout=world.checkout),
        checkout_ids=[world.checkout.pk],
        scope="group",
        numbers=[],
        query={},
        group=group.key,
        tz=dt.UTC,
        now=timezone.now(),
    )
    assert selection.cause == group.key
    request = BulkRequest(
        verb=BulkVerb.RERUN_FAILED,
        key="group-0001",
        description=selection.description,
        cause=selection.cause,
    )
    job, _new = create_bulk_job(
        selection.orders, checkout=world.checkout, request=request, by=world.sam
    )

    finished = run_bulk_job(job.pk)

    assert finished is not None
    assert (finished.done, finished.skipped) == (2, 0)
    statuses = dict(
        ActionSnapshot.objects.filter(order=outage[0]).values_list("config_id", "status")
    )
    assert statuses == {kajabi.pk: SnapshotStatus.PENDING, webhook.pk: SnapshotStatus.FAILED}
    assert ActionSnapshot.objects.get(order=outage[1]).status == SnapshotStatus.PENDING
    # The same key for the whole order's failures is another request.
    with pytest.raises(BulkRefused) as refused:
        create_bulk_job(
            selection.orders,
            checkout=world.checkout,
            request=BulkRequest(verb=BulkVerb.RERUN_FAILED, key="group-0001"),
            by=world.sam,
        )
    assert refused.value.code == "idempotency_key_reused"


def test_a_groups_rerun_skips_an_order_whose_failure_of_that_cause_is_gone(
    world: World,
) -> None:
    kajabi = kajabi_config(world)
    order = failing_order(world, kajabi, "Kajabi answered 503: Service Unavailable")
    other = kajabi_config(world, "Grant the bonus course")
    failing_order(world, other, "Kajabi answered 503: Service Unavailable")
    snapshot_of(order, other, "Kajabi answered 503: Service Unavailable")
    key = f"actions:{kajabi.pk}:"
    cause = next(
        g.key
        for g in action_groups(Order.objects.filter(checkout=world.checkout), timezone.now())
        if g.key.startswith(key)
    )
    job, _new = create_bulk_job(
        Order.objects.filter(pk=order.pk),
        checkout=world.checkout,
        request=BulkRequest(verb=BulkVerb.RERUN_FAILED, key="group-0002", cause=cause),
        by=world.sam,
    )
    # Someone re-ran the order's Kajabi grant from its panel meanwhile.
    ActionSnapshot.objects.filter(order=order, config=kajabi).update(
        status=SnapshotStatus.SUCCEEDED
    )

    finished = run_bulk_job(job.pk)

    assert finished is not None
    assert (finished.done, finished.skipped) == (0, 1)
    assert finished.items.get().reason == NOTHING_OF_CAUSE
    # Its failure of the other configuration is left for that group.
    assert ActionSnapshot.objects.get(order=order, config=other).status == SnapshotStatus.FAILED


def test_large_sets_need_their_count_confirmed(world: World, settings: Settings) -> None:
    settings.BULK_CONFIRM_OVER = 2
    _orders(world)
    with pytest.raises(ConfirmationNeeded) as asked:
        _job(world)
    assert asked.value.count == 3
    with pytest.raises(ConfirmationNeeded):
        _job(world, confirm_count=2)
    assert _job(world, confirm_count=3).total == 3
    settings.BULK_MAX_ORDERS = 2
    with pytest.raises(BulkRefused) as refused:
        _job(world, key="key-0002", confirm_count=3)
    assert refused.value.code == "too_many_orders"
    with pytest.raises(BulkRefused) as refused:
        create_bulk_job(
            Order.objects.none(),
            checkout=world.checkout,
            request=BulkRequest(verb=BulkVerb.RERUN_FAILED, key="key-0003"),
            by=world.sam,
        )
    assert refused.value.code == "no_orders"


def test_a_job_whose_worker_died_is_finished_once_by_another(
    world: World, settings: Settings
) -> None:
    orders = _orders(world) + _orders(world)
    job = _job(world)
    start = timezone.now()
    # The first worker claims the job, does two orders and dies.
    first = _claim(job.pk)
    assert first is not None
    items = list(job.items.order_by("position"))
    for item in items[:2]:
        _process(job, item.pk, Actor.of_user(world.sam), True)
    # While its heartbeat is fresh nobody takes the job over, and the sweep leaves it.
    assert _claim(job.pk) is None
    assert sweep_bulk_jobs() == 0

    with time_machine.travel(start + dt.timedelta(seconds=settings.BULK_STALE_SECONDS + 5)):
        tasks_before = DBTaskResult.objects.count()
        assert sweep_bulk_jobs() == 1
        assert DBTaskResult.objects.count() == tasks_before + 1
        finished = run_bulk_job(job.pk)
        # The first worker, coming back to life, finds its claim gone and stops.
        assert not _still_mine(job.pk, first)

    assert finished is not None
    assert (finished.status, finished.done, finished.skipped) == (JobStatus.FINISHED, 6, 0)
    for order in orders:
        assert len(_reruns_by(order)) == 1
    assert sweep_bulk_jobs() == 0


def test_a_member_who_lost_the_role_changes_nothing_more(world: World) -> None:
    _orders(world)
    job = _job(world)
    CheckoutMembership.objects.filter(user=world.sam).update(role="viewer")

    finished = run_bulk_job(job.pk)

    assert finished is not None
    assert (finished.done, finished.skipped) == (0, 3)
    assert set(finished.items.values_list("reason", flat=True)) == {ROLE_LOST}
    assert not OrderEvent.objects.filter(type=EventType.ACTION_RERUN).exists()


def test_a_queued_job_nobody_took_is_enqueued_again_once_per_wait(
    world: World, settings: Settings
) -> None:
    _orders(world)
    job = _job(world)
    start = timezone.now()
    assert sweep_bulk_jobs() == 0
    later = start + dt.timedelta(seconds=settings.BULK_STALE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert sweep_bulk_jobs() == 1
        assert sweep_bulk_jobs() == 0
    with time_machine.travel(later + dt.timedelta(seconds=settings.BULK_STALE_SECONDS + 1)):
        assert sweep_bulk_jobs() == 1
        finished = run_bulk_job(job.pk)
    assert finished is not None
    assert finished.done == 3
    assert sweep_bulk_jobs() == 0
