"""The staff API's orders (SPEC F11): list, detail, CSV export, Mark as paid, Mark as Completed,
Re-run, Refund, settling a pending refund.

Authenticated by an API token of one checkout; its orders are the only ones visible (any other
number is a 404) and a viewer token gets 403 on every verb. Each endpoint parses, scopes
through workflows.lookup, calls the same query or service as the web UI, and answers;
errors become `{detail, code}` responses in api.api.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.params.functions import Path

from orderdesk.actions import services as actions
from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error, OrderNumber
from orderdesk.api.staff_schemas import (
    ActionRunOut,
    EventOut,
    MarkCompletedIn,
    NoteIn,
    OrderDetailOut,
    OrderPageOut,
    OrderQuery,
    PageQuery,
    RefundConfirmIn,
    RefundIn,
    RefundOut,
    RefundResultOut,
    RerunOut,
    ReversalDecisionIn,
)
from orderdesk.lib.forms import TimeZoneField
from orderdesk.orders.events import Actor
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import Order
from orderdesk.orders.notes import NoteForm, add_note
from orderdesk.orders.queries import OrderFilters
from orderdesk.organizations.models import ApiToken
from orderdesk.payments.models import Refund
from orderdesk.payments.refunds import (
    RefundRequest,
    check_refund,
    confirm_refund,
    handle_reversed_refund,
    refund_notice,
    refund_order,
)
from orderdesk.payments.services import mark_as_paid
from orderdesk.reports.exports import orders_csv_response
from orderdesk.workflows import completion
from orderdesk.workflows.email_change import EmailChangeForm, SameEmail, change_customer_email
from orderdesk.workflows.lookup import get_order_for_token
from orderdesk.workflows.panel import load_order_details
from orderdesk.workflows.search import orders_to_export
from orderdesk.workflows.table import PageCursors, table_page

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
    cursors, invalid = PageCursors.read(after=page.after, before=page.before)
    if invalid:
        raise InvalidParameters(
            {
                name: "Not a cursor from this API; start again from the first page."
                for name in invalid
            }
        )
    return OrderPageOut.model_validate(
        table_page(
            Order.objects.for_token(token),
            parsed,
            checkout_ids=[token.checkout_id],
            cursors=cursors,
            size=page.limit,
        )
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
    orders, ids = orders_to_export(
        Order.objects.for_token(token), parsed, checkout_ids=[token.checkout_id]
    )
    filename = f"orders-{timezone.now().astimezone(tz).strftime('%Y-%m-%d-%H%M')}.csv"
    return orders_csv_response(orders, tz=tz, filename=filename, ids=ids)


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


@router.post("/orders/{number}/mark-paid", response={200: OrderDetailOut, **VERB_ERRORS})
def mark_paid(request: StaffRequest, number: OrderNumber) -> OrderDetailOut:
    """Confirm that an invoice or bank transfer waiting for its money was paid: the payment
    succeeds, naming the token, the order is Paid and its actions run. Sent again, it answers
    with the order as it is. 409 for card, bank and wallet payments, which only their
    provider confirms, and for orders with no payment waiting."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    mark_as_paid(order, actor=Actor.of_token(token))
    return order_detail(get_order_for_token(token, number))


def _rerun_out(run: ActionRun | None, token: ApiToken, number: int) -> RerunOut:
    """The answer to a run request: the queued run, if any, and the order as it is now."""
    return RerunOut(
        queued=run is not None,
        run=ActionRunOut.model_validate(run) if run is not None else None,
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


class EmailPreviewOut(Schema):
    to: str
    subject: str
    body: str
    error: str = Field(description="Why it cannot be sent; empty when it can.")


def _email_action(token: ApiToken, number: int, action_id: int, *, acting: bool) -> ActionSnapshot:
    order = get_order_for_token(token, number, acting=acting)
    snapshot = get_object_or_404(ActionSnapshot, pk=action_id, order=order)
    if not actions.can_resend(snapshot):
        raise InvalidParameters(
            {
                "action_id": "Only an email action (receipt, custom email) that sent its email "
                "can send it again."
            }
        )
    return snapshot


@router.get(
    "/orders/{number}/actions/{action_id}/resend",
    response={200: EmailPreviewOut, **READ_ERRORS},
)
def resend_preview(
    request: StaffRequest, number: OrderNumber, action_id: ActionId
) -> EmailPreviewOut:
    """What resending an email action would send, composed from the order as it is now."""
    snapshot = _email_action(request.auth, number, action_id, acting=False)
    preview = actions.email_preview(snapshot)
    return EmailPreviewOut(**preview.__dict__)


@router.post(
    "/orders/{number}/actions/{action_id}/resend",
    response={200: RerunOut, **VERB_ERRORS},
)
def resend_email(
    request: StaffRequest,
    number: OrderNumber,
    action_id: ActionId,
    idempotency_key: IdempotencyKey,
) -> RerunOut:
    """Send an email action's email again (customer service and up), through the action runs
    and their retries; the timeline records who asked and when it was sent. The same
    `Idempotency-Key` again queues nothing (`queued: false`)."""
    token = request.auth
    snapshot = _email_action(token, number, action_id, acting=True)
    run = actions.resend_email(snapshot, key=idempotency_key, by=Actor.of_token(token))
    return _rerun_out(run, token, number)


class ReceiptIn(Schema):
    language: Literal["en", "fi", "sv"] = Field(
        default="en", description="The receipt's language (the checkout does not know it)."
    )


@router.get("/orders/{number}/receipt", response={200: EmailPreviewOut, **READ_ERRORS})
def receipt_preview(
    request: StaffRequest, number: OrderNumber, body: Query[ReceiptIn]
) -> EmailPreviewOut:
    """What sending the receipt of a paid order without a receipt action would send (with
    one, resend the action instead)."""
    order = get_order_for_token(request.auth, number)
    if not actions.can_send_receipt(order, order.action_snapshots.all()):
        raise InvalidParameters(
            {
                "number": "Only a paid order without a receipt action is sent a receipt this "
                "way; resend its receipt action instead."
            }
        )
    return EmailPreviewOut(**actions.receipt_preview(order, language=body.language).__dict__)


@router.post("/orders/{number}/receipt", response={200: RerunOut, **VERB_ERRORS})
def send_receipt(
    request: StaffRequest, number: OrderNumber, body: ReceiptIn, idempotency_key: IdempotencyKey
) -> RerunOut:
    """Send the receipt of a paid order whose checkout sends none (customer service and up):
    it becomes the order's receipt action, run and retried like one, and the timeline records
    who asked. The same `Idempotency-Key` again, or an order that has a receipt action
    already, queues nothing (`queued: false`); an unpaid order is a 400."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    try:
        run = actions.send_receipt(
            order, language=body.language, key=idempotency_key, by=Actor.of_token(token)
        )
    except actions.ReceiptRefused as refused:
        raise InvalidParameters({"number": refused.message}) from None
    return _rerun_out(run, token, number)


class EmailChangeIn(Schema):
    email: str = Field(max_length=254, description="The new address; stored lower-cased.")
    resend_receipt: bool = Field(default=False, description="Also send the receipt again.")


@router.post("/orders/{number}/email", response={200: OrderDetailOut, **VERB_ERRORS})
def change_email(request: StaffRequest, number: OrderNumber, body: EmailChangeIn) -> OrderDetailOut:
    """Correct the buyer's email (customer service and up): the course access granted to the
    old address moves to the new one through post-purchase action runs (a grant under the
    new, a removal under the old unless another paid order of it still grants the offer); the
    timeline records old → new and who."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    form = EmailChangeForm({"email": body.email, "resend_receipt": body.resend_receipt})
    if not form.is_valid():
        raise InvalidParameters(form.messages())
    try:
        change_customer_email(
            order,
            form.cleaned_data["email"],
            resend_receipt=form.cleaned_data["resend_receipt"],
            actor=Actor.of_token(token),
        )
    except SameEmail as same:
        raise InvalidParameters({"email": str(same)}) from None
    return order_detail(get_order_for_token(token, number))


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
            notify_customer=body.notify_customer,
        ),
        actor=Actor.of_token(token),
        idempotency_key=idempotency_key,
    )
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(200 if answer.replayed else 201, _refund_result(answer.refund, token, number))


RefundId = Annotated[int, Path(ge=1, le=2**63 - 1, description="`refunds[].id` of the order.")]


@router.post(
    "/orders/{number}/refunds/{refund_id}/check", response={200: RefundResultOut, **VERB_ERRORS}
)
def check_pending_refund(
    request: StaffRequest, number: OrderNumber, refund_id: RefundId
) -> RefundResultOut:
    """Ask the provider now what became of a pending refund and settle it (the worker also
    does, every few minutes). 400 when the provider cannot be asked about it (confirm it
    instead) or does not answer now; a refund no longer pending is answered as it is."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    refund = check_refund(get_object_or_404(Refund, pk=refund_id, order=order))
    return _refund_result(refund, token, number)


@router.post(
    "/orders/{number}/refunds/{refund_id}/confirm", response={200: RefundResultOut, **VERB_ERRORS}
)
def confirm_pending_refund(
    request: StaffRequest, number: OrderNumber, refund_id: RefundId, body: RefundConfirmIn
) -> RefundResultOut:
    """Settle a pending refund whose provider cannot be asked (Epassi; Paytrail before it
    named the refund), with what the provider's own service shows: refunded (booked) or not
    (failed; its products can be refunded again). The timeline names the API token."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    refund = get_object_or_404(Refund, pk=refund_id, order=order)
    settled = confirm_refund(refund, refunded=body.refunded, actor=Actor.of_token(token))
    return _refund_result(settled, token, number)


@router.post(
    "/orders/{number}/refunds/{refund_id}/reversal",
    response={200: RefundResultOut, **VERB_ERRORS},
)
def handle_refund_reversal(
    request: StaffRequest, number: OrderNumber, refund_id: RefundId, body: ReversalDecisionIn
) -> RefundResultOut:
    """Decide about a refund the provider reversed after it succeeded (its
    `awaits_reversal_decision`): grant again the access it removed, or leave it removed. The
    order then leaves Requires attention for this reason. 400 for a refund the provider did
    not reverse; one already handled is answered as it is."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    refund = get_object_or_404(Refund, pk=refund_id, order=order)
    handled = handle_reversed_refund(refund, restore=body.restore_access, by=Actor.of_token(token))
    return _refund_result(handled, token, number)


def _refund_result(refund: Refund, token: ApiToken, number: int) -> RefundResultOut:
    made = Refund.objects.select_related(
        "created_by", "created_by_token", "payment_attempt", "order__checkout"
    ).get(pk=refund.pk)
    notice = refund_notice(made)
    return RefundResultOut(
        refund=RefundOut.model_validate(made),
        outcome=notice.outcome,
        can_check=notice.can_check,
        can_confirm=notice.can_confirm,
        message=notice.message,
        order=order_detail(get_order_for_token(token, number)),
    )


@router.post("/orders/{number}/notes", response={201: EventOut, **VERB_ERRORS})
def add_order_note(request: StaffRequest, number: OrderNumber, body: NoteIn) -> Status[EventOut]:
    """Add an internal note to the order's timeline (customer service and up); it shows in
    the order's `timeline` with type `internal_note`."""
    token = request.auth
    order = get_order_for_token(token, number, acting=True)
    form = NoteForm({"text": body.text})
    if not form.is_valid():
        raise InvalidParameters(form.messages())
    note = add_note(order, text=form.cleaned_data["text"], actor=Actor.of_token(token))
    return Status(201, EventOut.model_validate(note))


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


# --- presenting ----------------------------------------------------------------------------


def order_detail(order: Order) -> OrderDetailOut:
    return OrderDetailOut.model_validate(load_order_details(order))
