"""The staff API's order reports (SPEC F8, F11): a tab's figures, as the reports page shows them.

Parameters are the page's (period, from, to, tz, currency, granularity) and go through the
same `ReportForm`; the tab's figures are the page's (reports.tabs), mapped by attribute onto
the schemas of api.staff_schemas, which show money in integer minor units per currency.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Min
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Query, Router
from ninja.params.functions import Path

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error
from orderdesk.api.staff_schemas import (
    ReportOut,
    ReportQuery,
)
from orderdesk.orders.models import Order
from orderdesk.organizations.models import ApiToken
from orderdesk.reports.exports import orders_csv_response, vat_csv_response
from orderdesk.reports.forms import ReportForm
from orderdesk.reports.params import ReportParams, Tab
from orderdesk.reports.queries import Scope
from orderdesk.reports.tabs import tab_report, vat_report

router = Router(auth=StaffToken(), tags=["reports"])


@router.get(
    "/reports/export.csv",
    response={400: Error, 401: Error, 422: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "One row per order line, by payment time, streamed.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_report(request: StaffRequest, query: Query[ReportQuery]) -> HttpResponseBase:
    """The orders counted as sales in the report's period, as CSV (the report page's export)."""
    params = _params(request.auth, query)
    period = params.period
    orders = (
        Scope(frozenset({request.auth.checkout_id}), period).paid_orders().order_by("paid_at", "pk")
    )
    filename = f"orders-paid-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv"
    return orders_csv_response(orders, tz=params.tz, filename=filename)


@router.get(
    "/reports/vat.csv",
    response={400: Error, 401: Error, 422: Error},
    openapi_extra={
        "responses": {
            "200": {
                "description": "One row per currency and VAT rate: taxable base, VAT and gross"
                " of the sales, the refunds and what is left (net). A refund's part that no"
                " product line holds has an empty rate.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_vat(request: StaffRequest, query: Query[ReportQuery]) -> HttpResponseBase:
    """VAT per rate of the report's period, as CSV (the VAT tab's export)."""
    params = _params(request.auth, query)
    period = params.period
    return vat_csv_response(
        vat_report(frozenset({request.auth.checkout_id}), params),
        filename=f"vat-{period.first_day.isoformat()}-to-{period.last_day.isoformat()}.csv",
    )


@router.get("/reports/{tab}", response={200: ReportOut, 400: Error, 401: Error, 422: Error})
def report(
    request: StaffRequest,
    tab: Annotated[Tab, Path(description="sales, products, international, analytics or vat.")],
    query: Query[ReportQuery],
) -> ReportOut:
    """The headline metrics of the period (and the period before) and the tab's breakdowns."""
    token = request.auth
    params = _params(token, query, tab.value)
    return ReportOut.model_validate(tab_report(frozenset({token.checkout_id}), params))


def _params(token: ApiToken, query: ReportQuery, tab: str = "") -> ReportParams:
    """The parameters through the report page's form."""

    def first_order_at() -> dt.datetime | None:
        first: dt.datetime | None = Order.objects.for_token(token).aggregate(
            first=Min("created_at")
        )["first"]
        return first

    data = {**query.model_dump(mode="json", by_alias=True, exclude_none=True), "tab": tab}
    form = ReportForm(
        data,
        default_tz=token.checkout.organization.time_zone,
        now=timezone.now(),
        first_order_at=first_order_at,
    )
    if errors := form.messages():
        raise InvalidParameters(errors)
    return form.params
