"""Bulk jobs (issue 15): one verb over many orders, in the background, resumable, once per order.

A bulk job applies the single-order service of its verb to each order — `rerun_failed` for
"Re-run failed actions", `workflows.completion.mark_completed` for Mark as Completed — so an
order is changed by the same rules, with the same timeline entries naming the same staff
member, as from its panel. The interfaces check the caller's role on the checkout as they do
for one order (a viewer gets 403) and scope the orders to what the caller sees.

Once per order: an item is marked processed in the transaction that applies the verb, so a
worker that dies mid-order leaves both undone and the next worker does it once. Once per
request: the request's key is unique per checkout, so a double-submitted form makes one job.
A job whose worker stopped reporting is taken over by the sweep (`sweep_bulk_jobs`).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext_noop

from orderdesk.actions.models import ActionSnapshot
from orderdesk.actions.services import rerun_failed
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.organizations.models import ApiToken, Checkout, User
from orderdesk.organizations.roles import can_act, member_access
from orderdesk.payments.refunds import RefundError
from orderdesk.recovery.causes import action_cause
from orderdesk.recovery.models import BulkJob, BulkJobItem, BulkVerb, ItemOutcome, JobStatus
from orderdesk.workflows import completion

logger = logging.getLogger(__name__)

# Reasons an order is skipped, in English: kept on the item, translated by the page.
NOTHING_TO_RERUN = gettext_noop("No failed actions to re-run")
NOTHING_OF_CAUSE = gettext_noop("No failed actions of this cause to re-run")
NOTHING_TO_COMPLETE = gettext_noop("Nothing to complete")
ROLE_LOST = gettext_noop("The role of whoever started the job no longer allows this")


class ConfirmationNeeded(Exception):
    """The job covers more orders than `BULK_CONFIRM_OVER` (or not the count the caller
    confirmed): ask again with `confirm_count` set to `count`."""

    def __init__(self, count: int) -> None:
        super().__init__(f"This changes {count} orders: confirm the count to go on.")
        self.count = count


class BulkRefused(Exception):
    """The job cannot be made as asked: nothing chosen, too many orders, a key reused."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class BulkRequest:
    verb: BulkVerb
    key: str
    use_latest_config: bool = False
    description: str = ""
    # A failure group's key (`Selection.cause`): a re-run takes that cause's actions only.
    cause: str = ""
    # The count the caller saw and confirmed; required over BULK_CONFIRM_OVER orders.
    confirm_count: int | None = None


def _actor(job: BulkJob) -> Actor:
    if job.created_by_token is not None:
        return Actor.of_token(job.created_by_token)
    if job.created_by is not None:
        return Actor.of_user(job.created_by)
    return Actor.system()


def create_bulk_job(
    orders: OrderQuerySet, *, checkout: Checkout, request: BulkRequest, by: User | ApiToken
) -> tuple[BulkJob, bool]:
    """Make the job over `orders` (already scoped to what the caller may act on in
    `checkout`) and hand it to a worker after commit. Returns the job and whether it is new:
    the same key again returns the job it made (a double submit), unless it asked for
    something else (`BulkRefused`, code `idempotency_key_reused`).

    Raises `ConfirmationNeeded` past `BULK_CONFIRM_OVER` orders unless `confirm_count` is
    their number, and `BulkRefused` for no orders or more than `BULK_MAX_ORDERS`.
    """
    user = by if isinstance(by, User) else None
    token = by if isinstance(by, ApiToken) else None
    existing = BulkJob.objects.filter(checkout=checkout, request_key=request.key).first()
    if existing is not None:
        return _replayed(existing, request, user=user, token=token), False
    ids = list(
        orders.filter(checkout_id=checkout.pk)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[: settings.BULK_MAX_ORDERS + 1]
    )
    if not ids:
        raise BulkRefused("No orders to change: nothing is selected or matches.", "no_orders")
    if len(ids) > settings.BULK_MAX_ORDERS:
        raise BulkRefused(
            f"More than {settings.BULK_MAX_ORDERS} orders: narrow the filters and try again.",
            "too_many_orders",
        )
    if len(ids) > settings.BULK_CONFIRM_OVER and request.confirm_count != len(ids):
        raise ConfirmationNeeded(len(ids))
    try:
        with transaction.atomic():
            job = BulkJob.objects.create(
                checkout=checkout,
                verb=request.verb,
                use_latest_config=request.use_latest_config,
                description=request.description[:300],
                cause=request.cause,
                request_key=request.key,
                created_by=user,
                created_by_token=token,
                total=len(ids),
            )
            BulkJobItem.objects.bulk_create(
                BulkJobItem(job=job, order_id=pk, position=i) for i, pk in enumerate(ids)
            )
            transaction.on_commit(lambda: run_bulk_job_task.enqueue(job.pk))
    except IntegrityError:
        # The same request racing this one made the job first.
        existing = BulkJob.objects.get(checkout=checkout, request_key=request.key)
        return _replayed(existing, request, user=user, token=token), False
    return job, True


def _replayed(
    job: BulkJob, request: BulkRequest, *, user: User | None, token: ApiToken | None
) -> BulkJob:
    same = (
        job.verb == request.verb
        and job.use_latest_config == request.use_latest_config
        and job.cause == request.cause
        and job.created_by_id == (user.pk if user else None)
        and job.created_by_token_id == (token.pk if token else None)
    )
    if not same:
        raise BulkRefused(
            f"The key {request.key} was used for bulk job {job.pk}, which asked for something "
            "else: send a new key for a new job.",
            "idempotency_key_reused",
        )
    return job


# Running


def _may_still_act(job: BulkJob) -> bool:
    """Roles apply as for one order, when the job runs too: a member or token that lost the
    right to act since the job was made changes nothing more."""
    if job.created_by_token is not None:
        token = job.created_by_token
        return token.revoked_at is None and can_act(token.role)
    if job.created_by is not None:
        access = member_access(job.created_by, current_checkout_id=job.checkout_id)
        return access.can_act_on(job.checkout_id)
    return False


def _rerun(order: Order, job: BulkJob, actor: Actor) -> tuple[ItemOutcome, str]:
    only = None
    if job.cause.startswith("actions:"):
        # A group's re-run: the order's other failures are other causes, with groups of
        # their own (and maybe an outage still going on).
        def only(snapshot: ActionSnapshot) -> bool:
            return action_cause(snapshot.config_id, snapshot.last_error) == job.cause

    runs = rerun_failed(order, use_latest_config=job.use_latest_config, by=actor, only=only)
    if runs:
        return ItemOutcome.DONE, ""
    return ItemOutcome.SKIPPED, NOTHING_OF_CAUSE if only is not None else NOTHING_TO_RERUN


def _complete(order: Order, job: BulkJob, actor: Actor) -> tuple[ItemOutcome, str]:
    if completion.completion_choices(order) is None:
        return ItemOutcome.SKIPPED, NOTHING_TO_COMPLETE
    try:
        completion.mark_completed(order, use_latest_config=job.use_latest_config, by=actor)
    except (TransitionNotAllowed, RefundError) as refused:
        return ItemOutcome.SKIPPED, str(refused)
    return ItemOutcome.DONE, ""


VERBS: dict[str, Callable[[Order, BulkJob, Actor], tuple[ItemOutcome, str]]] = {
    BulkVerb.RERUN_FAILED: _rerun,
    BulkVerb.MARK_COMPLETED: _complete,
}


def _claim(job_id: int) -> str | None:
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.BULK_STALE_SECONDS)
    claim = uuid.uuid4().hex
    claimed = (
        BulkJob.objects.filter(pk=job_id)
        .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale))
        .update(status=JobStatus.RUNNING, claim=claim, heartbeat_at=now)
    )
    if not claimed:
        return None
    BulkJob.objects.filter(pk=job_id, started_at=None).update(started_at=now)
    return claim


def _still_mine(job_id: int, claim: str) -> bool:
    # The heartbeat: a worker that stops calling this is taken over after BULK_STALE_SECONDS.
    return bool(
        BulkJob.objects.filter(pk=job_id, claim=claim, status=JobStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def _process(job: BulkJob, item_id: int, actor: Actor, allowed: bool) -> None:
    with transaction.atomic():
        item = (
            BulkJobItem.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk=item_id, outcome=ItemOutcome.PENDING)
            .first()
        )
        if item is None:
            return  # processed already, by this job's previous worker
        if not allowed:
            outcome, reason = ItemOutcome.SKIPPED, ROLE_LOST
        else:
            try:
                # A savepoint: an unexpected error undoes this order's changes only.
                with transaction.atomic():
                    outcome, reason = VERBS[job.verb](item.order, job, actor)
            except Exception as exc:
                logger.exception("Bulk job %s failed on order %s", job.pk, item.order_id)
                outcome, reason = ItemOutcome.FAILED, f"{type(exc).__name__}: {exc}"
        item.outcome, item.reason = outcome, reason[:300]
        item.processed_at = timezone.now()
        item.save(update_fields=["outcome", "reason", "processed_at"])
        counter = {
            ItemOutcome.DONE: "done",
            ItemOutcome.SKIPPED: "skipped",
            ItemOutcome.FAILED: "failed",
        }[outcome]
        BulkJob.objects.filter(pk=job.pk).update(**{counter: F(counter) + 1})


def run_bulk_job(job_id: int) -> BulkJob | None:
    """Claim the job and process its pending items in order; None when it is not ours to run
    (finished, or another worker is alive on it). Stops, leaving the rest to the other
    worker, if its claim was taken over."""
    claim = _claim(job_id)
    if claim is None:
        return None
    job = BulkJob.objects.select_related("created_by", "created_by_token").get(pk=job_id)
    actor = _actor(job)
    allowed = _may_still_act(job)
    pending = job.items.filter(outcome=ItemOutcome.PENDING).order_by("position")
    while batch := list(pending.values_list("pk", flat=True)[:100]):
        for item_id in batch:
            if not _still_mine(job_id, claim):
                return None
            _process(job, item_id, actor, allowed)
    now = timezone.now()
    BulkJob.objects.filter(pk=job_id, claim=claim).update(
        status=JobStatus.FINISHED, finished_at=now, heartbeat_at=now
    )
    job.refresh_from_db()
    return job


@task()
def run_bulk_job_task(job_id: int) -> None:
    """The worker's entry point for a bulk job."""
    run_bulk_job(job_id)


def sweep_bulk_jobs() -> int:
    """Hand to a worker again the jobs whose worker died (no heartbeat for
    `BULK_STALE_SECONDS`) and queued jobs nobody took; returns how many. A job enqueued
    twice is claimed once."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.BULK_STALE_SECONDS)
    due = list(
        BulkJob.objects.filter(
            Q(status=JobStatus.RUNNING, heartbeat_at__lt=stale)
            | Q(status=JobStatus.QUEUED, heartbeat_at=None, created_at__lt=stale)
            | Q(status=JobStatus.QUEUED, heartbeat_at__lt=stale)
        ).values_list("pk", flat=True)[:100]
    )
    # A queued job waits BULK_STALE_SECONDS before it is enqueued again, however busy the
    # workers are: the queue does not fill up with copies of it.
    BulkJob.objects.filter(pk__in=due, status=JobStatus.QUEUED).update(heartbeat_at=now)
    for pk in due:
        run_bulk_job_task.enqueue(pk)
    return len(due)


# Reading


@dataclass(frozen=True)
class ReasonCount:
    outcome: str
    reason: str
    count: int
    example_number: int


def job_reasons(job: BulkJob) -> list[ReasonCount]:
    """Why orders were skipped or failed, one line per outcome and reason, most common first."""
    rows = (
        job.items.filter(outcome__in=[ItemOutcome.SKIPPED, ItemOutcome.FAILED])
        .values("outcome", "reason")
        .annotate(count=Count("pk"), example=Min("order__number"))
        .order_by()
    )
    found = [
        ReasonCount(
            outcome=row["outcome"],
            reason=row["reason"],
            count=row["count"],
            example_number=row["example"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda r: (r.outcome, -r.count, r.reason))


def dismiss_job(job: BulkJob) -> None:
    BulkJob.objects.filter(pk=job.pk).update(dismissed_at=timezone.now())
