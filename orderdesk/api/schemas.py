"""Request and response bodies of the JSON API; money is integer minor units plus currency."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from ninja.params.functions import Path
from pydantic import BeforeValidator, ConfigDict, field_validator

# Path parameters shared by the ingest and staff routers.
OrderNumber = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="The order's number in its organization.")
]
# The checkout ingest API's: the order's checkout token, returned when it was opened.
CheckoutToken = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The order's checkout token, as `POST /orders` returned it.",
    ),
]


class Error(Schema):
    detail: str = Field(examples=["Discount code SPRING has expired."])
    code: str = Field(examples=["discount_expired"])


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class In(Schema):
    """A request body: its text can be stored as it is, in PostgreSQL too."""

    @field_validator("*", mode="after")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        # PostgreSQL refuses NUL in text, even in a lookup; valid JSON may carry one ("\u0000").
        if _has_nul(value):
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value


class OpenOrderIn(In):
    link: str = Field(max_length=100, description="Slug of the checkout link opened.")
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{3}$",
        description="ISO 4217; defaults to the offer's first currency.",
    )
    user_agent: str | None = Field(
        default=None,
        max_length=2000,
        description="The customer's browser; defaults to this request's User-Agent.",
    )


class BillingIn(In):
    email: str = Field(max_length=254)
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2, e.g. FI.")
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    company: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    address_line1: str = Field(default="", max_length=200)
    address_line2: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    vat_id: str = Field(default="", max_length=50)
    extra_fields: dict[str, str] = Field(
        default_factory=dict, description="Fields the merchant added to the form: label → value."
    )
    analytics_consent: bool | None = Field(
        default=None, description="None: the customer has not answered the consent banner."
    )


class AddOnIn(In):
    add_on_id: int = Field(ge=1)


class DiscountCodeIn(In):
    code: str = Field(min_length=1, max_length=50)


class PaymentIn(In):
    provider: str = Field(max_length=10, examples=["stripe"])
    method: str = Field(max_length=30, examples=["card"])
    amount_minor: int = Field(ge=0, le=2**62, description="Must equal the order's total.")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])
    return_url: str = Field(
        default="",
        max_length=500,
        description="The checkout's page for the customer coming back from the provider's "
        "page (Paytrail, Epassi), given `redirect_status=succeeded` or `failed`; an absolute "
        "http(s) URL. Without it they see Orderdesk's own result page. Stripe.js takes its "
        "own return_url in the browser.",
        examples=["https://shop.example.com/thank-you"],
    )


class Out(Schema):
    """A response body read from a model or read model by attribute (ninja's Schema validates
    `from_attributes`): a field's `validation_alias` names the attribute where the API's name
    differs. Its own field names are read too, so a body can be nested in another as it is."""

    model_config = ConfigDict(validate_by_name=True)


# A value the API shows as text.
DecimalText = Annotated[str, BeforeValidator(str)]


class LineOut(Schema):
    kind: str
    name: str
    product_id: int | None
    add_on_id: int | None
    unit_price_minor: int
    quantity: int
    discount_minor: int
    vat_rate: DecimalText
    vat_minor: int
    total_minor: int


class VatRowOut(Schema):
    rate: DecimalText
    net_minor: int
    vat_minor: int
    gross_minor: int


class CheckoutPaymentOut(Schema):
    """A payment attempt as the checkout page sees it: whether it went through."""

    stamp: str
    provider: str
    method: str
    status: str
    amount_minor: int
    currency: str
    created_at: dt.datetime


class PaymentAttemptOut(CheckoutPaymentOut):
    provider_reference: str


class PaymentStartedOut(PaymentAttemptOut):
    """The attempt, and how the customer continues at the provider."""

    redirect_url: str = Field(description="Send the customer here, if set.")
    form_action: str = Field(description="Or post `form_fields` here (Paytrail, Epassi).")
    form_fields: dict[str, str]
    client_secret: str = Field(description="Stripe's PaymentIntent client secret.")


class CustomerOut(Out):  # read from an order
    email: str = Field(validation_alias="customer_email")
    first_name: str
    last_name: str
    company: str
    phone: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    region: str
    country: str
    vat_id: str
    extra_fields: dict[str, str]
    analytics_consent: bool | None


class OrderOut(Schema):
    """What the checkout page needs of its order (issue 16): totals, lines, the form it filled
    and its payments. Staff data (source, tags, device, provider references, the timeline)
    stay in the staff API."""

    token: str = Field(description="Address the order by this in every later call.")
    number: int = Field(description="The order's number, to show the customer.")
    status: str
    status_label: str
    currency: str
    subtotal_minor: int
    discount_minor: int
    vat_minor: int
    total_minor: int
    discount_code: str | None
    lines: list[LineOut]
    vat_breakdown: list[VatRowOut]
    customer: CustomerOut
    link: str | None
    payment_attempts: list[CheckoutPaymentOut]
    created_at: dt.datetime
