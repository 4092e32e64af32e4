"""The staff API's orders (SPEC F11): list, detail, CSV export, Mark as Completed, Re-run, Refund.

Authenticated by an API token of one checkout; its orders are the only ones visible (any other
number is a 404) and a viewer token gets 403 on every verb. Each endpoint parses, scopes
through workflows.lookup, calls the same query or service as the web UI, and answers;
errors become `{detail, code}` responses in api.api.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Header, Query, Router, Status
from ninja.params.functions import Path

from orderdesk.actions import services as actions
from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import CustomerOut, Error, OrderNumber, PaymentAttemptOut, VatRowOut
from orderdesk.api.staff_schemas import (
    ActionOut,
    ActionRunOut,
    EventOut,
    GeneralOut,
    MarkCompletedIn,
    OrderDetailOut,
    OrderPageOut,
    OrderQuery,
    OrderRowOut,
    PageQuery,
    PaymentSummaryOut,
    ProductOut,
    RefundIn,
    RefundLineOut,
    RefundOut,
    RefundResultOut,
    RerunOut,
    StaffLineOut,
)
from orderdesk.lib.forms import TimeZoneField
from orderdesk.orders.events import Actor
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import Order, OrderLine
from orderdesk.orders.queries import Cursor, OrderFilters, filter_orders, page_orders
from orderdesk.organizations.models import ApiToken
from orderdesk.payments.models import Refund
from orderdesk.payments.refunds import RefundRequest, refund_order, refund_outcome
from orderdesk.reports.exports import orders_csv_response
from orderdesk.workflows import completion
from orderdesk.workflows.lookup import get_order_for_token
from orderdesk.workflows.panel import OrderDetails, load_order_details
from orderdesk.workflows.table import RowAttempt, RowLine, relevant_attempt, table_row_parts

router = Router(auth=StaffToken(), tags=["orders"])

READ_ERRORS = {400: Error, 401: Error, 404: Error, 422: Error}
VERB_ERRORS = {**READ_ERRORS, 403: Error, 409: Error}
ActionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="`actions[].id` of the order.")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="8–64 letters, digits, `-` or `_`, new for each refund: sending the same "
        "key again answers with the refund it made and moves no money twice.",
    ),
]


@router.get("/orders", response={200: OrderPageOut, **READ_ERRORS})
def list_orders(
    request: StaffRequest, filters: Query[OrderQuery], page: Query[PageQuery]
) -> OrderPageOut:
    """Orders newest first, filtered like the orders table; follow the cursors to page."""
    token = request.auth
    parsed, _tz = _filters(token, filters)
    errors: dict[str, str] = {}
    after = _cursor(page.after, "after", errors)
    before = _cursor(page.before, "before", errors)
    if errors:
        raise InvalidParameters(errors)
    qs = filter_orders(Order.objects.for_token(token), parsed, checkout_ids=[token.checkout_id])
    result = page_orders(qs, after=after, before=before, size=page.limit)
    # The same two queries per page as the web table, whatever the page size.
    lines, attempts = table_row_parts([order.pk for order in result.orders])
    return OrderPageOut(
        orders=[_row(order, lines[order.pk], attempts[order.pk]) for order in result.orders],
        next_cursor=result.older.encode() if result.older else None,
        previous_cursor=result.newer.encode() if result.newer else None,
    )


@router.get(
    "/orders/export.csv",
    response={400: Error, 401: Error, 422: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "One row per order line, newest order first, streamed.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_orders(request: StaffRequest, filters: Query[OrderQuery]) -> HttpResponseBase:
    """The orders matching the filters as CSV, one row per order line (SPEC F8's export)."""
    token = request.auth
    parsed, tz = _filters(token, filters)
    orders = filter_orders(
        Order.objects.for_token(token), parsed, checkout_ids=[token.checkout_id]
    ).order_by("-created_at", "-pk")
    filename = f"orders-{timezone.now().astimezone(tz).strftime('%Y-%m-%d-%H%M')}.csv"
    return orders_csv_response(orders, tz=tz, filename=filename)


@router.get("/orders/{number}", response={200: OrderDetailOut, **READ_ERRORS})
def get_order(request: StaffRequest, number: OrderNumber) -> OrderDetailOut:
    """Everything the order panel shows: general, customer, lines, payments, refunds, actions
    with their runs, and the timeline."""
    return order_detail(get_order_for_token(request.auth, number))


@router.post("/orders/{number}/mark-completed", response={200: OrderDetailOut, **VERB_ERRORS})
def mark_completed(
    request: StaffRequest, number: OrderNumber, body: MarkCompletedIn | None = None
) -> OrderDetailOut:
    """Mark as Completed and run the actions that have not succeeded (SPEC F4)."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    body = body or MarkCompletedIn()
    completion.mark_completed(
        order,
        use_latest_config=body.use_latest_config,
        restore_refunds=body.restore_refunded_data,
        by=Actor.of_token(token),
    )
    return order_detail(get_order_for_token(token, number))


def _rerun_out(run: ActionRun | None, token: ApiToken, number: int) -> RerunOut:
    """The answer to a run request: the queued run, if any, and the order as it is now."""
    return RerunOut(
        queued=run is not None,
        run=_run(run) if run is not None else None,
        order=order_detail(get_order_for_token(token, number)),
    )


@router.post("/orders/{number}/actions/{action_id}/rerun", response={200: RerunOut, **VERB_ERRORS})
def rerun_action(request: StaffRequest, number: OrderNumber, action_id: ActionId) -> RerunOut:
    """Re-run one post-purchase action; nothing happens if it succeeded or is already queued."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    snapshot = get_object_or_404(ActionSnapshot, pk=action_id, order=order)
    return _rerun_out(actions.rerun_action(snapshot, by=Actor.of_token(token)), token, number)


@router.post(
    "/orders/{number}/actions/{action_id}/retry-access-removal",
    response={200: RerunOut, **VERB_ERRORS},
)
def retry_access_removal(
    request: StaffRequest, number: OrderNumber, action_id: ActionId
) -> RerunOut:
    """Try again to remove the access a refund asked to remove, after removing it failed."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    snapshot = get_object_or_404(ActionSnapshot, pk=action_id, order=order)
    run = actions.retry_access_removal(snapshot, by=Actor.of_token(token))
    return _rerun_out(run, token, number)


@router.post(
    "/orders/{number}/refunds",
    response={200: RefundResultOut, 201: RefundResultOut, **VERB_ERRORS},
)
def refund(
    request: StaffRequest,
    response: HttpResponse,
    number: OrderNumber,
    body: RefundIn,
    idempotency_key: IdempotencyKey,
) -> Status[RefundResultOut]:
    """Refund amounts per order line (SPEC F5): 201 with the new refund, or 200 with the
    refund an earlier request with the same `Idempotency-Key` made; that key with other
    amounts or options is a 409."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    ids = [line.line_id for line in body.lines]
    if len(set(ids)) != len(ids):
        raise InvalidParameters({"lines": "Give each line at most once."})
    answer = refund_order(
        order,
        RefundRequest(
            amounts={line.line_id: line.amount_minor for line in body.lines},
            via_provider=body.via_provider,
            remove_access_line_ids=frozenset(
                line.line_id for line in body.lines if line.remove_access
            ),
            remove_offer_access=body.remove_offer_access,
            reason=body.reason,
            currency=body.currency,
        ),
        actor=Actor.of_token(token),
        idempotency_key=idempotency_key,
    )
    made = Refund.objects.select_related("created_by", "created_by_token", "payment_attempt").get(
        pk=answer.refund.pk
    )
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    result = RefundResultOut(
        refund=_refund(made),
        message=refund_outcome(made),
        order=order_detail(get_order_for_token(token, number)),
    )
    return Status(200 if answer.replayed else 201, result)


# --- reading -------------------------------------------------------------------------------


def _filters(token: ApiToken, query: OrderQuery) -> tuple[OrderFilters, ZoneInfo]:
    """The filters through the orders table's form, and the time zone of their dates."""
    try:
        tz = TimeZoneField().clean(query.tz) or ZoneInfo(token.checkout.organization.time_zone)
    except ValidationError as error:
        raise InvalidParameters({"tz": error.messages[0]}) from None
    form = OrderFilterForm(query.model_dump(mode="json", exclude={"tz"}, exclude_none=True), tz=tz)
    if errors := form.messages():
        raise InvalidParameters(errors)
    return form.filters, tz


def _cursor(raw: str, name: str, errors: dict[str, str]) -> Cursor | None:
    if not raw:
        return None
    cursor = Cursor.decode(raw)
    if cursor is None:
        errors[name] = "Not a cursor from this API; start again from the first page."
    return cursor


# --- presenting ----------------------------------------------------------------------------


def _row(order: Order, lines: list[RowLine], attempts: list[RowAttempt]) -> OrderRowOut:
    attempt = relevant_attempt(attempts)
    return OrderRowOut(
        number=order.number,
        status=order.status,
        status_label=order.get_status_display(),
        action_health=order.action_health,
        created_at=order.created_at,
        paid_at=order.paid_at,
        customer_email=order.customer_email,
        first_name=order.first_name,
        last_name=order.last_name,
        currency=order.currency,
        total_minor=order.total_minor,
        refunded_minor=order.refunded_minor,
        products=[
            ProductOut(name=line.name, kind=line.kind)
            for line in sorted(lines, key=lambda line: line.position)
        ],
        payment=PaymentSummaryOut(
            provider=attempt.provider, method=attempt.method, status=attempt.status
        )
        if attempt is not None
        else None,
        source=order.source,
        tags=[str(tag) for tag in order.tags or []],
        country=order.country,
    )


def order_detail(order: Order) -> OrderDetailOut:
    details = load_order_details(order)
    return OrderDetailOut(
        number=order.number,
        status=order.status,
        status_label=order.get_status_display(),
        action_health=order.action_health,
        requires_attention=Order.objects.filter(pk=order.pk)
        .requiring_attention(timezone.now())
        .exists(),
        created_at=order.created_at,
        paid_at=order.paid_at,
        completed_at=order.completed_at,
        general=_general(details),
        customer=CustomerOut.of(order),
        lines=[_line(line) for line in details.lines],
        payments=[PaymentAttemptOut.of(a) for a in details.payment_attempts],
        refunds=[_refund(r) for r in details.refunds],
        actions=[_action(s) for s in details.action_snapshots],
        timeline=[
            EventOut(
                type=e.type,
                message=e.message,
                actor_type=e.actor_type,
                actor=e.actor_label,
                data=e.data if isinstance(e.data, dict) else {},
                created_at=e.created_at,
            )
            for e in details.events
        ],
    )


def _general(details: OrderDetails) -> GeneralOut:
    order = details.order
    return GeneralOut(
        offer=order.offer.name if order.offer else None,
        link=order.link.name if order.link else None,
        source=order.source,
        tags=[str(tag) for tag in order.tags or []],
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        discount_code=order.discount_code.code if order.discount_code else None,
        discount_minor=order.discount_minor,
        vat_minor=order.vat_minor,
        total_minor=order.total_minor,
        refunded_minor=order.refunded_minor,
        vat_breakdown=[VatRowOut.of(row) for row in details.vat_rows],
        device_type=order.device_type,
    )


def _line(line: OrderLine) -> StaffLineOut:
    return StaffLineOut.of(
        line,
        id=line.pk,
        refunded_minor=line.refunded_minor,
        refundable_minor=line.refundable_minor,
    )


def _refund(refund: Refund) -> RefundOut:
    if refund.created_by is not None:
        by = refund.created_by.email
    elif refund.created_by_token is not None:
        by = f"API token {refund.created_by_token.name}"
    else:
        by = ""
    return RefundOut(
        id=refund.pk,
        status=refund.status,
        origin=refund.origin,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        via_provider=refund.via_provider,
        reason=refund.reason,
        recorded_only_reason=refund.recorded_only_reason,
        failure_message=refund.failure_message,
        provider_reference=refund.provider_reference,
        remove_offer_access=refund.remove_offer_access,
        created_by=by,
        created_at=refund.created_at,
        settled_at=refund.settled_at,
        lines=[
            RefundLineOut(
                line_id=rl.order_line_id,
                amount_minor=rl.amount_minor,
                remove_access=rl.remove_access,
            )
            for rl in refund.lines.all()
        ],
    )


def _run(run: ActionRun) -> ActionRunOut:
    return ActionRunOut(
        id=run.pk,
        operation=run.operation,
        status=run.status,
        attempt=run.attempt,
        run_after=run.run_after,
        started_at=run.started_at,
        finished_at=run.finished_at,
        http_status=run.http_status,
        error_message=run.error_message,
        created_at=run.created_at,
    )


def _action(snapshot: ActionSnapshot) -> ActionOut:
    return ActionOut(
        id=snapshot.pk,
        name=str(snapshot),
        level=snapshot.level,
        kind=snapshot.kind,
        status=snapshot.status,
        attempts=snapshot.attempts,
        last_error=snapshot.last_error,
        last_run_at=snapshot.last_run_at,
        access_removal_failed=snapshot.access_removal_failed,
        runs=[_run(run) for run in snapshot.runs.all()],
    )
