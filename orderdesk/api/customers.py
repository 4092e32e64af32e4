"""The staff API's customer desk (issue 14): the customer's page.

Same roles and errors as the orders: a token sees its checkout's orders only, and an email
with no order there is a 404, whether or not it has orders elsewhere.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404
from ninja import Query, Router, Schema
from pydantic import Field

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error
from orderdesk.api.staff_schemas import CustomerPageOut
from orderdesk.orders.models import Order
from orderdesk.workflows.customer import load_customer

router = Router(auth=StaffToken(), tags=["customers"])

READ_ERRORS = {400: Error, 401: Error, 404: Error, 422: Error}


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
