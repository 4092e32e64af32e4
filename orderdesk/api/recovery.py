"""The staff API's recovery at scale (issue 15): failure groups, bulk jobs (create, status,
result).

A token sees its checkout's groups and jobs only (any other job is a 404); a viewer token
reads, and gets 403 when it starts a job, as for one order. A job changes each order through
the same service as the order's own endpoints, named on its timeline as the token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Router, Schema, Status
from ninja.params.functions import Path

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.orders import _filters
from orderdesk.api.schemas import Error, Out
from orderdesk.api.staff_schemas import OrderQuery
from orderdesk.orders.models import Order
from orderdesk.organizations.roles import require_token_can_act
from orderdesk.recovery import jobs
from orderdesk.recovery.causes import failure_groups
from orderdesk.recovery.models import BulkJob, BulkVerb
from orderdesk.recovery.selection import ScopeError, orders_for

router = Router(auth=StaffToken(), tags=["recovery"])

READ_ERRORS = {401: Error, 404: Error, 422: Error}
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="`id` of a bulk job.")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="8–64 letters, digits, `-` or `_`, new for each job: sending the same key "
        "again answers with the job it made and starts nothing twice.",
    ),
]


class FailureGroupOut(Out):
    key: str = Field(description="Names the group in `POST /bulk-jobs` (`group`).")
    reason: str = Field(description="`actions`, `dispute` or `refund_reversed`.")
    label: str
    action: str = Field(description="For actions: the configuration's name.")
    error: str = Field(description="For actions: the error with what varies replaced by `…`.")
    example_error: str = Field(description="For actions: the error of the example order.")
    count: int = Field(description="Orders in the group.")
    failed: int = Field(description="Of them, orders with a failed action (re-run re-runs those).")
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    example_number: int
    config_version: int | None = Field(
        description="The configuration's version now (null: deleted or not an action)."
    )
    snapshot_versions: list[int] = Field(
        description="The versions the group's orders were sold with."
    )
    config_differs: bool = Field(
        description="`use_latest_config` would change the orders' settings."
    )


class BulkJobIn(Schema):
    """Give exactly one of `numbers`, `group` or `filters`."""

    verb: Literal["rerun_failed", "mark_completed"] = Field(
        description="`rerun_failed`: re-run each order's failed actions; `mark_completed`: "
        "Mark as Completed, running what has not succeeded."
    )
    numbers: list[Annotated[int, Field(ge=1, le=10**18 - 1)]] | None = Field(
        default=None, max_length=10_000, description="These orders of the token's checkout."
    )
    group: str | None = Field(
        default=None, max_length=80, description="The orders of a failure group (its `key`)."
    )
    filters: OrderQuery | None = Field(
        default=None, description="Every order `GET /orders` lists with these filters."
    )
    use_latest_config: bool = Field(
        default=False,
        description="Replace each failed action's snapshot with its current configuration.",
    )
    confirm_count: int | None = Field(
        default=None,
        ge=0,
        le=10**9,
        description="The number of orders, required when there are more than "
        "`BULK_CONFIRM_OVER` (default 100); a 409 `confirmation_required` says it.",
    )


class BulkJobOut(Out):
    id: int
    verb: str
    use_latest_config: bool
    description: str
    cause: str = Field(
        description="The failure group's key the job was made from (its re-run re-runs "
        "that cause's failed actions only), or empty."
    )
    status: str = Field(description="`queued`, `running` or `finished`.")
    total: int
    done: int
    skipped: int
    failed: int
    processed: int
    percent: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ReasonOut(Out):
    outcome: str = Field(description="`skipped` or `failed`.")
    reason: str
    count: int
    example_number: int


class ItemOut(Schema):
    number: int
    outcome: str = Field(description="`pending`, `done`, `skipped` or `failed`.")
    reason: str


class BulkJobResultOut(Schema):
    job: BulkJobOut
    reasons: list[ReasonOut] = Field(description="Why orders were skipped or failed, grouped.")
    items: list[ItemOut] = Field(description="Every order of the job, in the job's order.")


@router.get("/attention/groups", response={200: list[FailureGroupOut], 401: Error})
def list_failure_groups(request: StaffRequest) -> list[FailureGroupOut]:
    """The orders requiring attention grouped by cause, biggest first: each failing action
    configuration and error, open disputes, reversed refunds."""
    token = request.auth
    groups = failure_groups(Order.objects.for_token(token), timezone.now())
    return [FailureGroupOut.model_validate(group) for group in groups]


def _job(request: StaffRequest, job_id: int) -> BulkJob:
    return get_object_or_404(BulkJob, pk=job_id, checkout_id=request.auth.checkout_id)


@router.post(
    "/bulk-jobs",
    response={
        200: BulkJobOut,
        201: BulkJobOut,
        400: Error,
        401: Error,
        403: Error,
        409: Error,
        422: Error,
    },
)
def create_bulk_job(
    request: StaffRequest,
    response: HttpResponse,
    body: BulkJobIn,
    idempotency_key: IdempotencyKey,
) -> Status[BulkJobOut]:
    """Start a bulk job in the background: 201 with the new job, or 200 with the job an
    earlier request with the same `Idempotency-Key` made (`Idempotent-Replayed: true`); that
    key for another job is a 409. Follow it with `GET /bulk-jobs/{id}`."""
    token = request.auth
    require_token_can_act(token)
    given = [name for name in ("numbers", "group", "filters") if getattr(body, name) is not None]
    if len(given) != 1:
        raise InvalidParameters({"body": "Give exactly one of numbers, group or filters."})
    scope = {"numbers": "selected", "group": "group", "filters": "filter"}[given[0]]
    query: dict[str, str] = {}
    tz = timezone.get_current_timezone()
    if body.filters is not None:
        _parsed, tz = _filters(token, body.filters)
        query = body.filters.model_dump(mode="json", exclude={"tz"}, exclude_none=True)
    try:
        selection = orders_for(
            Order.objects.for_token(token),
            checkout_ids=[token.checkout_id],
            scope=scope,
            numbers=body.numbers or [],
            query=query,
            group=body.group or "",
            tz=tz,
            now=timezone.now(),
        )
    except ScopeError as error:
        raise InvalidParameters(error.messages) from None
    job, new = jobs.create_bulk_job(
        selection.orders,
        checkout=token.checkout,
        request=jobs.BulkRequest(
            verb=BulkVerb(body.verb),
            key=idempotency_key,
            use_latest_config=body.use_latest_config,
            description=selection.description,
            cause=selection.cause,
            confirm_count=body.confirm_count,
        ),
        by=token,
    )
    if not new:
        response["Idempotent-Replayed"] = "true"
    return Status(201 if new else 200, BulkJobOut.model_validate(job))


@router.get("/bulk-jobs/{job_id}", response={200: BulkJobOut, **READ_ERRORS})
def get_bulk_job(request: StaffRequest, job_id: JobId) -> BulkJobOut:
    """A job's progress: how many orders are done, skipped and failed so far."""
    return BulkJobOut.model_validate(_job(request, job_id))


@router.get("/bulk-jobs/{job_id}/result", response={200: BulkJobResultOut, **READ_ERRORS})
def get_bulk_job_result(request: StaffRequest, job_id: JobId) -> BulkJobResultOut:
    """A job's summary: the reasons orders were skipped or failed, and each order's outcome
    (pending ones are still to come while the job runs)."""
    job = _job(request, job_id)
    items = job.items.order_by("position").values_list("order__number", "outcome", "reason")
    return BulkJobResultOut(
        job=BulkJobOut.model_validate(job),
        reasons=[ReasonOut.model_validate(reason) for reason in jobs.job_reasons(job)],
        items=[ItemOut(number=n, outcome=o, reason=r) for n, o, r in items],
    )
