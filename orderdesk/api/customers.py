"""The staff API's customer desk (issue 14): the customer's page, their data as JSON or CSV,
and erasing their personal data.

Same roles and errors as the orders: a token sees its checkout's orders only, and an email
with no order there is a 404, whether or not it has orders elsewhere; a viewer token reads
the page and gets 403 on export and erase.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Query, Router, Schema, Status
from pydantic import Field

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error
from orderdesk.api.staff_schemas import CustomerPageOut
from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.organizations.models import ApiToken
from orderdesk.organizations.roles import require_token_can_act
from orderdesk.workflows.customer import load_customer
from orderdesk.workflows.customer_data import (
    customer_csv,
    customer_data,
    customer_orders,
    erase_customer,
    record_export,
)

router = Router(auth=StaffToken(), tags=["customers"])

READ_ERRORS = {400: Error, 401: Error, 404: Error, 422: Error}
VERB_ERRORS = {**READ_ERRORS, 403: Error, 409: Error}


class CustomerQuery(Schema):
    email: str = Field(max_length=254, description="The customer's whole email address.")


def _email(raw: str) -> str:
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidParameters(
            {"email": "Give a whole email address, like anna@example.com."}
        ) from None
    return email


@router.get("/customers", response={200: CustomerPageOut, **READ_ERRORS})
def get_customer(request: StaffRequest, query: Query[CustomerQuery]) -> CustomerPageOut:
    """Every order of the email on the token's checkout, paid and refunded per currency, first
    and last purchase, and the course access held now (granted by which order, removal asked
    by which refund)."""
    page = load_customer(Order.objects.for_token(request.auth), _email(query.email))
    if page is None:
        raise Http404("No orders of this customer.")
    return CustomerPageOut.model_validate(page)


class ExportIn(Schema):
    email: str = Field(max_length=254, description="The customer's whole email address.")
    format: Literal["json", "csv"] = Field(default="json")


class EraseIn(Schema):
    email: str = Field(max_length=254, description="The customer's whole email address.")
    expected_orders: int = Field(
        ge=1,
        le=10**9,
        description="How many orders the erase should change, as the customer page's "
        "`order_count` said: another count is a 409 and nothing is erased.",
    )


class ErasedOut(Schema):
    erased_orders: int


def _acting_orders(token: ApiToken, email: str) -> OrderQuerySet:
    """The token's orders, when it may act and the email has some there."""
    orders = Order.objects.for_token(token)
    if not customer_orders(orders, email).exists():
        raise Http404("No orders of this customer.")
    require_token_can_act(token)
    return orders


@router.post(
    "/customers/export",
    response={403: Error, 401: Error, 400: Error, 404: Error, 422: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "Everything held about the customer (internal notes left out): "
                "JSON with each order's lines, payments, refunds, actions and timeline, or CSV "
                "with one row per order. Each order's timeline records the export.",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def export_customer(request: StaffRequest, body: ExportIn) -> HttpResponseBase:
    """The customer's data on request, as JSON or CSV (customer service and up)."""
    email = _email(body.email)
    orders = _acting_orders(request.auth, email)
    data: dict[str, Any] = customer_data(orders, email)
    record_export(orders, email, file_format=body.format, actor=Actor.of_token(request.auth))
    if body.format == "csv":
        return HttpResponse(customer_csv(data), content_type="text/csv; charset=utf-8")
    return JsonResponse(data)


@router.post("/customers/erase", response={200: ErasedOut, **VERB_ERRORS})
def erase_customer_data(request: StaffRequest, body: EraseIn) -> Status[ErasedOut]:
    """Erase the customer's personal data (names, email, address, phone, company, the other
    billing fields, the browser) from their orders, keeping amounts, VAT, dates, products and
    numbers; each order's timeline records it. Customer service and up."""
    email = _email(body.email)
    orders = _acting_orders(request.auth, email)
    erased = erase_customer(
        orders, email, expected=body.expected_orders, actor=Actor.of_token(request.auth)
    )
    return Status(200, ErasedOut(erased_orders=erased))
