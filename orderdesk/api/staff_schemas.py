"""Bodies of the staff API (SPEC F11); money is integer minor units plus an ISO 4217 currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from ninja import Field, Schema
from pydantic import AliasGenerator, AliasPath, BeforeValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from orderdesk.api.schemas import CustomerOut, LineOut, Out, PaymentAttemptOut, VatRowOut
from orderdesk.lib.forms import DAY_MESSAGE, MAX_TEXT, MAX_TIME_ZONE, iso_day
from orderdesk.lib.money import to_minor
from orderdesk.orders.forms import MAX_DISCOUNT_CODE, MAX_NUMBER, OrderTab
from orderdesk.orders.models import AttentionReason, OrderStatus
from orderdesk.orders.queries import Cursor
from orderdesk.reports.periods import Granularity, Preset
from orderdesk.reports.queries import CountSeries

MAX_MINOR = 2**62


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here instead of failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _empty_is_none(value: object) -> object:
    # Query builders often send a parameter left empty; like the pages, read it as not given.
    return None if value == "" else value


def _day(value: object) -> object:
    if isinstance(value, str):
        try:
            return iso_day(value)
        except ValueError:
            raise PydanticCustomError("date", str(DAY_MESSAGE)) from None
    return value


def _never_null(schema: dict[str, Any]) -> None:
    # A query parameter is absent or has a value, never null: document only the value's type.
    (kind,) = [option for option in schema.pop("anyOf") if option != {"type": "null"}]
    if "$ref" in kind:
        schema["allOf"] = [kind]  # a $ref beside the description would hide it
    else:
        schema.update(kind)


def optional(**field: Any) -> Any:
    """A typed query parameter that may be left out (or empty): `None` then."""
    return Field(default=None, json_schema_extra=_never_null, **field)


EmptyIsNone = BeforeValidator(_empty_is_none)
# YYYY-MM-DD; the rules beyond the type (2000–2100, from ≤ to) are the forms'.
Day = Annotated[dt.date | None, BeforeValidator(_day), EmptyIsNone]


class OrderQuery(Schema):
    """The orders table's filters (SPEC F2) as query parameters; empty means "any".

    Checked beyond their types by `orders.forms.OrderFilterForm`, as the page's are.
    """

    q: str = Field(
        default="",
        max_length=MAX_TEXT,
        description="Free text: an order number alone, or words (one of at least 3 "
        "characters) that each match part of the first name, last name or email (without "
        "case or accents), the order number, or a provider's payment id (Stripe `pi_…` or "
        "`ch_…`, a Paytrail transaction id).",
    )
    number: Annotated[int | None, EmptyIsNone] = optional(
        ge=1, le=MAX_NUMBER, description="Order number, e.g. 1042."
    )
    email: str = Field(
        default="",
        max_length=MAX_TEXT,
        description="A whole email address, or at least 3 characters of one.",
    )
    first_name: str = Field(
        default="", max_length=MAX_TEXT, description="Whole first name, without case or accents."
    )
    last_name: str = Field(
        default="", max_length=MAX_TEXT, description="Whole last name, without case or accents."
    )
    status: Annotated[OrderStatus | None, EmptyIsNone] = optional(
        description="The order's status, e.g. `paid`."
    )
    source: str = Field(
        default="", max_length=MAX_TEXT, description="Source, without case or accents."
    )
    tag: str = Field(default="", max_length=MAX_TEXT, description="Tag, without case or accents.")
    discount_code: str = Field(default="", max_length=MAX_DISCOUNT_CODE)
    date_from: Day = optional(description="First day created, inclusive.")
    date_to: Day = optional(description="Last day created, inclusive.")
    tab: Annotated[OrderTab | None, EmptyIsNone] = optional(
        description="`attention`: only the orders that require attention."
    )
    reason: Annotated[AttentionReason | None, EmptyIsNone] = optional(
        description="Only the orders that require attention for this reason: `actions` (post-purchase actions not finished), `dispute` (a payment "
        "dispute is open), `refund_reversed` (the provider reversed a refund; staff decide "
        "about the access it removed)."
    )
    disputed: bool = Field(
        default=False, description="Only the orders with a payment dispute still open."
    )
    tz: str = Field(
        default="",
        max_length=MAX_TIME_ZONE,
        description="Time zone of the date range, e.g. Europe/Helsinki; defaults to the "
        "organization's.",
    )


class PageQuery(Schema):
    after: str = Field(
        default="", description="`next_cursor` of the previous answer: older orders."
    )
    before: str = Field(default="", description="`previous_cursor` of an answer: newer orders.")
    limit: int = Field(default=50, ge=1, le=50, description="Orders per page, at most 50.")


# --- read models, mapped by attribute --------------------------------------------------------
# The outputs below are validated from a read model (workflows.table, workflows.panel) or a
# model instance by attribute (see api.schemas.Out); the annotated types say how a value is
# shown.


def _text_tags(tags: Any) -> list[str]:
    return [str(tag) for tag in tags or []]


def _dict_or_empty(data: Any) -> Any:
    return data if isinstance(data, dict) else {}


def _encoded(cursor: Any) -> Any:
    return cursor.encode() if isinstance(cursor, Cursor) else cursor


Tags = Annotated[list[str], BeforeValidator(_text_tags)]
EventData = Annotated[dict[str, Any], BeforeValidator(_dict_or_empty)]
CursorText = Annotated[str | None, BeforeValidator(_encoded)]


def _order_field(name: str) -> AliasPath:
    return AliasPath("order", name)


class FromOrder(Out):
    """Validated from a read model that holds an `order`: each field is read from the order,
    unless its `validation_alias` names an attribute of the read model itself."""

    model_config = ConfigDict(alias_generator=AliasGenerator(validation_alias=_order_field))


class ProductOut(Schema):
    name: str
    kind: str = Field(description="main, order_bump, pre_upsell or upgrade.")


class PaymentSummaryOut(Schema):
    provider: str
    method: str
    status: str


class OrderRowOut(FromOrder):  # workflows.table.TableRow
    number: int
    status: str
    status_label: str
    action_health: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    customer_email: str
    first_name: str
    last_name: str
    currency: str
    total_minor: int
    refunded_minor: int
    products: list[ProductOut] = Field(validation_alias="products")
    payment: PaymentSummaryOut | None = Field(
        validation_alias="payment",
        description="The payment attempt that settled last, else the newest attempt.",
    )
    source: str
    tags: Tags
    country: str
    attention_reasons: list[str] = Field(
        validation_alias="attention_reasons",
        description="Why the order requires attention now (empty: it does not): `actions`, "
        "`dispute`, `refund_reversed`.",
    )


class OrderPageOut(Out):  # workflows.table.TablePage
    orders: list[OrderRowOut] = Field(validation_alias="rows")
    next_cursor: CursorText = Field(
        validation_alias="older", description="Pass as `after` for older orders."
    )
    previous_cursor: CursorText = Field(
        validation_alias="newer", description="Pass as `before` for newer orders."
    )


class StaffLineOut(LineOut):
    """A line as the ingest API shows it, with its id and what is refunded of it."""

    id: int
    refunded_minor: int
    refundable_minor: int


class RefundLineOut(Out):
    line_id: int = Field(validation_alias="order_line_id")
    amount_minor: int
    vat_minor: int | None = Field(
        description="The VAT in amount_minor at the line's rate, stamped when the refund was"
        " booked; null until then."
    )
    remove_access: bool


class RefundOut(Out):
    id: int
    status: str = Field(description="pending, succeeded, recorded, failed or reversed.")
    origin: str
    amount_minor: int
    currency: str
    via_provider: bool
    settlement: str = Field(
        description="How the money goes back: provider (through the provider, or made in its"
        " dashboard), unchecked (recorded only: “Refund payments” was unchecked) or elsewhere"
        " (the provider cannot return it through Orderdesk: returned in its own service or by"
        " the merchant)."
    )
    reason: str
    recorded_only_reason: str
    failure_message: str
    provider_reference: str
    remove_offer_access: bool
    notify_customer: bool
    customer_notified_at: dt.datetime | None
    created_by: str = Field(
        validation_alias="created_by_label", description="The user's email or the API token's name."
    )
    created_at: dt.datetime
    settled_at: dt.datetime | None
    provider_reversed_at: dt.datetime | None = Field(
        description="When the provider reversed the refund after it had succeeded (the "
        "money is back with the merchant; its books are undone)."
    )
    awaits_reversal_decision: bool = Field(
        description="Reversed by the provider and not yet handled: POST …/refunds/{id}/reversal."
    )
    reversal_handled_at: dt.datetime | None
    reversal_handled_by: str
    lines: list[RefundLineOut]


class DisputeOut(Out):
    id: int
    provider: str
    provider_reference: str = Field(description="The provider's dispute id (Stripe `dp_…`).")
    amount_minor: int
    currency: str
    reason: str = Field(description="The provider's reason code, e.g. `fraudulent`.")
    status: str = Field(
        description="The provider's status: `warning_needs_response`, "
        "`warning_under_review`, `needs_response`, `under_review` (open); "
        "`warning_closed`, `charge_refunded`, `prevented`, `won`, `lost` (closed)."
    )
    is_open: bool
    evidence_due_by: dt.datetime | None
    funds_withdrawn_minor: int
    funds_reinstated_minor: int
    opened_at: dt.datetime
    closed_at: dt.datetime | None


class ActionRunOut(Schema):
    id: int
    operation: str
    status: str
    attempt: int
    run_after: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    http_status: int | None
    error_message: str
    created_at: dt.datetime


class ActionOut(Out):
    id: int
    name: str = Field(validation_alias="label")
    level: str
    kind: str
    status: str
    attempts: int
    last_error: str
    last_run_at: dt.datetime | None
    access_removal_failed: bool = Field(
        description="Removing the access failed for good: retry-access-removal applies."
    )
    runs: list[ActionRunOut]


class EventOut(Out):
    type: str
    message: str
    actor_type: str
    actor: str = Field(validation_alias="actor_label")
    data: EventData
    created_at: dt.datetime


class GeneralOut(FromOrder):  # workflows.panel.General
    offer: str | None = Field(validation_alias="offer")
    link: str | None = Field(validation_alias="link")
    source: str
    tags: Tags
    currency: str
    subtotal_minor: int
    discount_code: str | None = Field(validation_alias="discount_code")
    discount_minor: int
    vat_minor: int
    total_minor: int
    refunded_minor: int
    vat_breakdown: list[VatRowOut] = Field(validation_alias="vat_breakdown")
    device_type: str


class StaffPaymentOut(PaymentAttemptOut):
    succeeded_at: dt.datetime | None
    confirmed_by: str = Field(
        description="Who marked an invoice or bank transfer as paid; empty when the provider "
        "confirmed the payment."
    )


class OrderDetailOut(FromOrder):  # workflows.panel.OrderDetails
    number: int
    status: str
    status_label: str
    action_health: str
    requires_attention: bool = Field(validation_alias="requires_attention")
    attention_reasons: list[str] = Field(
        validation_alias="attention_reasons",
        description="Why it requires attention: `actions`, `dispute`, `refund_reversed`.",
    )
    created_at: dt.datetime
    paid_at: dt.datetime | None
    completed_at: dt.datetime | None
    general: GeneralOut = Field(validation_alias="general")
    customer: CustomerOut = Field(validation_alias="order")
    lines: list[StaffLineOut] = Field(validation_alias="lines")
    payments: list[StaffPaymentOut] = Field(validation_alias="payments")
    refunds: list[RefundOut] = Field(validation_alias="refunds")
    disputes: list[DisputeOut] = Field(validation_alias="disputes")
    actions: list[ActionOut] = Field(validation_alias="actions")
    timeline: list[EventOut] = Field(validation_alias="timeline")


class NoteIn(Schema):
    text: str = Field(
        description="The note, at most 500 characters: read by staff (the panel, this API), "
        "never sent to the customer."
    )


class MarkCompletedIn(Schema):
    use_latest_config: bool = Field(
        default=False,
        description="Replace each failed action's snapshot with its current configuration.",
    )
    restore_refunded_data: bool = Field(
        default=False,
        description="Undo the books of the order's refunds (they stay, marked reversed).",
    )


class RerunOut(Schema):
    queued: bool = Field(description="False when there was nothing to run (see the endpoint).")
    run: ActionRunOut | None
    order: OrderDetailOut


class RefundLineIn(Schema):
    line_id: int = Field(ge=1, le=MAX_MINOR, description="`lines[].id` of the order.")
    amount_minor: int = Field(ge=0, le=MAX_MINOR)
    remove_access: bool = Field(
        default=False,
        description="Revoke the product's access; only with its full remaining price.",
    )


class RefundIn(Schema):
    lines: list[RefundLineIn] = Field(min_length=1, max_length=100)
    via_provider: bool = Field(
        default=True,
        description="Return the money through the provider; false records the refund only.",
    )
    remove_offer_access: bool = False
    notify_customer: bool = Field(
        default=False,
        description="Email the customer a refund confirmation (refunded products, VAT per "
        "rate) once the refund is booked; recorded on the timeline.",
    )
    reason: str = Field(default="", max_length=500)
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{3}$",
        description="If given, must be the order's currency.",
    )

    @field_validator("reason")
    @classmethod
    def no_nul(cls, value: str) -> str:
        return _no_nul(value)


class RefundConfirmIn(Schema):
    refunded: bool = Field(
        description="What the provider's own service shows: true if it returned the money."
    )


class ReversalDecisionIn(Schema):
    restore_access: bool = Field(
        description="true: grant again the access the refund removed; false: leave it removed."
    )


class RefundResultOut(Schema):
    refund: RefundOut
    outcome: str = Field(
        description="succeeded, recorded (no money moved: “Refund payments” was off), "
        "action_needed (booked, the money is to be returned in the provider's own service), "
        "pending (check it, or confirm it where the provider cannot be asked), failed or "
        "reversed."
    )
    can_check: bool = Field(
        description="Pending and the provider can be asked: POST …/refunds/{id}/check."
    )
    can_confirm: bool = Field(
        description="Pending and the provider cannot be asked: after looking in its own "
        "service, POST …/refunds/{id}/confirm."
    )
    message: str = Field(description="What happened to the money, for people.")
    order: OrderDetailOut


class ReportQuery(Schema):
    """The report page's settings; checked beyond their types by `reports.forms.ReportForm`."""

    period: Annotated[Preset | None, EmptyIsNone] = optional(
        description="The days to report; `last_30_days` when not given."
    )
    from_: Day = optional(alias="from", description="First day of a custom period.")
    to: Day = optional(description="Last day of a custom period.")
    tz: str = Field(
        default="",
        max_length=MAX_TIME_ZONE,
        description="Time zone of the days, e.g. Europe/Helsinki; defaults to the organization's.",
    )
    currency: str = Field(
        default="",
        max_length=MAX_TEXT,
        description="Convert to this ISO 4217 currency (one the ECB quotes); empty keeps them "
        "apart.",
    )
    granularity: Annotated[Granularity | None, EmptyIsNone] = optional(
        description="Buckets of the series; chosen from the period when not given."
    )


# --- a report tab (reports.tabs.TabReport), mapped by attribute ------------------------------


def _in_minor_units(money: Any) -> Any:
    # The reports count money in major units per currency (reports.queries.Money).
    if not isinstance(money, Mapping):
        return money
    return [
        {"currency": currency, "amount_minor": to_minor(amount, currency)}
        for currency, amount in sorted(money.items())
    ]


def _zone_name(tz: Any) -> Any:
    return tz.key if isinstance(tz, ZoneInfo) else tz


def _none_if_empty(value: Any) -> Any:
    return value or None


def _text_or_none(key: Any) -> Any:
    return None if key is None else str(key)


def _region_rows(regions: Any) -> Any:
    return [
        {"region": region[0], "figures": region[1]} if isinstance(region, tuple) else region
        for region in regions
    ]


def _counts(series: Any) -> Any:
    if not isinstance(series, CountSeries):
        return series
    return [
        {"bucket": bucket, "category": category, "count": series.counts.get((bucket, category), 0)}
        for bucket in series.buckets
        for category in series.categories
    ]


class MoneyOut(Schema):
    currency: str
    amount_minor: int


MoneyList = Annotated[list[MoneyOut], BeforeValidator(_in_minor_units)]


class FiguresOut(Out):
    revenue: MoneyList
    orders: int
    opened: int
    average_order_value: MoneyList = Field(validation_alias="aov")
    conversion_rate: Decimal | None = Field(description="Paid orders ÷ opened checkouts.")
    impression_value: MoneyList
    refunds: MoneyList
    net_revenue: MoneyList


class PeriodOut(Out):  # reports.params.ReportParams
    preset: str
    first_day: dt.date = Field(validation_alias=AliasPath("period", "first_day"))
    last_day: dt.date = Field(validation_alias=AliasPath("period", "last_day"))
    tz: Annotated[str, BeforeValidator(_zone_name)]
    granularity: str
    currency: Annotated[str | None, BeforeValidator(_none_if_empty)] = Field(
        description="The display currency; null keeps them apart."
    )


class BucketOut(Schema):
    bucket: dt.date
    orders: int
    revenue: MoneyList


class BreakdownRowOut(Out):
    key: Annotated[str | None, BeforeValidator(_text_or_none)]
    label: str
    figures: FiguresOut
    series: list[BucketOut] = Field(validation_alias="bucket_figures")


class BreakdownOut(Schema):
    title: str
    rows: list[BreakdownRowOut]


class SalesTrackingOut(Schema):
    sources: BreakdownOut
    links: BreakdownOut
    offers: BreakdownOut


class ProductRowOut(Schema):
    product_id: int | None
    name: str
    figures: FiguresOut
    add_on_revenue: MoneyList
    top_offer: str
    top_source: str


class AddOnRowOut(Schema):
    add_on_id: int
    kind: str
    name: str
    offer: str
    orders_with: int
    offer_orders: int
    attachment_rate: Decimal | None
    revenue: MoneyList


class ProductSalesOut(Schema):
    products: list[ProductRowOut]
    add_ons: list[AddOnRowOut]


class RegionOut(Schema):
    region: str
    figures: FiguresOut


class CountryOut(Schema):
    country: str
    figures: FiguresOut
    regions: Annotated[list[RegionOut], BeforeValidator(_region_rows)]


class CountOut(Schema):
    bucket: dt.date
    category: str
    count: int


CountList = Annotated[list[CountOut], BeforeValidator(_counts)]


class DeviceOut(Schema):
    device: str
    opened: int
    orders: int
    conversion_rate: Decimal | None


class MethodOut(Schema):
    provider: str
    method: str
    figures: FiguresOut


class AnalyticsOut(Out):
    consent_rate: Decimal | None = Field(description="Accepted ÷ (accepted + rejected).")
    consent: CountList
    devices: CountList
    device_rows: list[DeviceOut]
    payment_methods: list[MethodOut] = Field(validation_alias="methods")


class VatAmountsOut(Out):  # reports.queries.VatAmounts
    taxable_base_minor: int = Field(
        validation_alias="net_minor", description="Gross − VAT: the amount without VAT."
    )
    vat_minor: int
    gross_minor: int = Field(description="VAT included.")


class VatTotalOut(Out):  # reports.queries.VatFigures
    currency: str
    sales: VatAmountsOut = Field(description="Lines of orders paid in the period.")
    refunds: VatAmountsOut = Field(
        description="Lines of refunds booked in the period (the Refunds figure, line by line)."
    )
    net: VatAmountsOut = Field(description="Sales − refunds.")


class VatRateOut(VatTotalOut):  # reports.queries.VatRateRow
    rate: Decimal | None = Field(
        description="The VAT rate in percent the lines were sold at; null for the part of a"
        " refund that no product line holds (made in a provider's dashboard for more than the"
        " lines had left), whose VAT cannot be split."
    )


class VatReportOut(Out):  # reports.queries.VatReport
    rates: list[VatRateOut] = Field(validation_alias="rows")
    totals: list[VatTotalOut] = Field(description="Per currency, every rate together.")


class ReportOut(Out):  # reports.tabs.TabReport
    tab: str = Field(validation_alias=AliasPath("params", "tab"))
    period: PeriodOut = Field(validation_alias="params")
    headline: FiguresOut = Field(validation_alias=AliasPath("headline", "current"))
    previous: FiguresOut | None = Field(
        validation_alias=AliasPath("headline", "previous"),
        description="The period before, for comparison.",
    )
    # Only the requested tab's part is filled.
    sales: SalesTrackingOut | None
    products: ProductSalesOut | None
    international: list[CountryOut] | None
    analytics: AnalyticsOut | None
    vat: VatReportOut | None = Field(
        description="VAT per rate and currency, in minor units (one currency when converting)."
    )


# --- the customer's page (workflows.customer.CustomerPage) --------------------------------


class MoneyTotalOut(Out):
    currency: str
    paid_minor: int
    refunded_minor: int
    net_minor: int


class AccessOut(Out):
    name: str = Field(description="The product's name, or the offer's for an offer-level grant.")
    level: str = Field(description="product, offer or checkout.")
    action: str
    state: str = Field(description="held, granting, failed or removed.")
    order_number: int = Field(description="The order that granted it.")
    refund_id: int | None = Field(description="The refund that asked to remove it, if any.")


class CustomerOrderOut(Out):
    number: int
    status: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    currency: str
    total_minor: int
    refunded_minor: int


class CustomerPageOut(Out):
    email: str
    name: str
    order_count: int
    first_purchase_at: dt.datetime | None
    last_purchase_at: dt.datetime | None
    totals: list[MoneyTotalOut] = Field(description="Per currency, of the orders that were paid.")
    access: list[AccessOut]
    orders: list[CustomerOrderOut] = Field(description="Newest first.")
