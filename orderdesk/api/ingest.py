"""The checkout ingest API (SPEC F9): what the hosted checkout page reports about an order.

Authenticated by the checkout's ingest key. An order is addressed by the checkout token its
open returned, never by its number (issue 16): the key alone reads no order, so a leaked key
cannot walk the sequential numbers to read customers' details, and a token of another
checkout's order is a 404 like an unknown one. The answers carry what the checkout page
needs (`OrderOut`), not what staff see. Errors are mapped to responses in api.api.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Status
from ninja.params.functions import Path

from orderdesk.api.auth import CheckoutKey, CheckoutRequest
from orderdesk.api.schemas import (
    AddOnIn,
    BillingIn,
    CheckoutPaymentOut,
    CheckoutToken,
    CustomerOut,
    DiscountCodeIn,
    Error,
    LineOut,
    OpenOrderIn,
    OrderOut,
    PaymentAttemptOut,
    PaymentIn,
    PaymentStartedOut,
    VatRowOut,
)
from orderdesk.orders import services
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.orders.pricing import vat_breakdown
from orderdesk.payments import services as payments
from orderdesk.workflows import checkout

router = Router(auth=CheckoutKey(), tags=["checkout ingest"])

ERRORS = {401: Error, 404: Error, 409: Error, 422: Error}
AddOnId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/orders", response={201: OrderOut, **ERRORS})
def open_order(request: CheckoutRequest, body: OpenOrderIn) -> Status[OrderOut]:
    user_agent = body.user_agent if body.user_agent is not None else _user_agent(request)
    order = checkout.open_order(
        request.auth, link_slug=body.link, currency=body.currency, user_agent=user_agent
    )
    return Status(201, order_out(order))


@router.get("/orders/{token}", response={200: OrderOut, **ERRORS})
def get_order(request: CheckoutRequest, token: CheckoutToken) -> OrderOut:
    return order_out(_order(request, token))


@router.api_operation(
    ["PUT", "POST"], "/orders/{token}/billing", response={200: OrderOut, **ERRORS}
)
def save_billing(request: CheckoutRequest, body: BillingIn, token: CheckoutToken) -> OrderOut:
    fields = body.model_dump(exclude={"email", "country", "extra_fields", "analytics_consent"})
    order = services.save_billing(
        _order(request, token),
        email=body.email,
        country=body.country,
        analytics_consent=body.analytics_consent,
        extra_fields=body.extra_fields,
        **fields,
    )
    return order_out(order)


@router.post("/orders/{token}/add-ons", response={200: OrderOut, **ERRORS})
def add_add_on(request: CheckoutRequest, body: AddOnIn, token: CheckoutToken) -> OrderOut:
    return order_out(checkout.add_add_on(_order(request, token), add_on_id=body.add_on_id))


@router.delete("/orders/{token}/add-ons/{add_on_id}", response={200: OrderOut, **ERRORS})
def remove_add_on(request: CheckoutRequest, add_on_id: AddOnId, token: CheckoutToken) -> OrderOut:
    return order_out(checkout.remove_add_on(_order(request, token), add_on_id=add_on_id))


@router.post("/orders/{token}/discount-code", response={200: OrderOut, **ERRORS})
def apply_discount_code(
    request: CheckoutRequest, body: DiscountCodeIn, token: CheckoutToken
) -> OrderOut:
    return order_out(checkout.apply_discount_code(_order(request, token), code=body.code))


@router.delete("/orders/{token}/discount-code", response={200: OrderOut, **ERRORS})
def remove_discount_code(request: CheckoutRequest, token: CheckoutToken) -> OrderOut:
    return order_out(checkout.remove_discount_code(_order(request, token)))


@router.post("/orders/{token}/payments", response={201: PaymentStartedOut, **ERRORS, 502: Error})
def start_payment(
    request: CheckoutRequest, body: PaymentIn, token: CheckoutToken
) -> Status[PaymentStartedOut]:
    attempt = payments.start_payment(
        _order(request, token),
        provider=body.provider,
        method=body.method,
        amount_minor=body.amount_minor,
        currency=body.currency,
        return_url=body.return_url,
    )
    # The intent row is committed; the provider call runs with no transaction open.
    start = payments.hand_payment_to_provider(attempt)
    return Status(
        201,
        PaymentStartedOut(
            **PaymentAttemptOut.model_validate(attempt).model_dump(),
            redirect_url=start.redirect_url,
            form_action=start.form_action,
            form_fields=start.form_fields,
            client_secret=start.client_secret,
        ),
    )


def _order(request: CheckoutRequest, token: str) -> Order:
    return checkout.find_order(request.auth, token)


def _user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")


def order_out(order: Order) -> OrderOut:
    lines = list(order.lines.all())
    # A Started order has no payment yet: one query fewer on the calls before billing.
    attempts = [] if order.status == OrderStatus.STARTED else list(order.payment_attempts.all())
    return OrderOut(
        token=order.checkout_token,
        number=order.number,
        status=order.status,
        status_label=order.get_status_display(),
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        discount_minor=order.discount_minor,
        vat_minor=order.vat_minor,
        total_minor=order.total_minor,
        discount_code=order.discount_code.code if order.discount_code else None,
        lines=[LineOut.model_validate(line) for line in lines],
        vat_breakdown=[
            VatRowOut.model_validate(row)
            for row in vat_breakdown(
                (line.vat_rate, line.total_minor, line.vat_minor) for line in lines
            )
        ],
        customer=CustomerOut.model_validate(order),
        link=order.link.slug if order.link else None,
        payment_attempts=[CheckoutPaymentOut.model_validate(a) for a in attempts],
        created_at=order.created_at,
    )
