"""Which orders a bulk job covers: the rows staff selected, everything a filter matches, or a
failure group. One reading for the web and the API (`BulkForm` for the page, the API's schema
hands the same fields to `orders_for`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.forms import QueryForm
from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import OrderQuerySet
from orderdesk.recovery.causes import find_group
from orderdesk.recovery.models import BulkVerb
from orderdesk.workflows.search import search_orders

KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


SCOPES = (
    ("selected", _("Selected orders")),
    ("filter", _("Every order matching the filters")),
    ("group", _("A failure group")),
)


class ScopeError(Exception):
    """The orders asked for cannot be read: `messages` by parameter."""

    def __init__(self, messages: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in messages.items()))
        self.messages = dict(messages)


def parse_numbers(text: str) -> list[int]:
    """ "1042, 1043 1044" → [1042, 1043, 1044]; ValueError for anything else or too many."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    if len(parts) > settings.BULK_MAX_ORDERS:
        raise ValueError(
            gettext("At most %(count)s orders at once.") % {"count": settings.BULK_MAX_ORDERS}
        )
    if not all(p.isdigit() and len(p) <= 18 for p in parts):
        raise ValueError(gettext("Order numbers are digits only, like 1042."))
    return [int(p) for p in parts]


@dataclass(frozen=True)
class Selection:
    """The orders a job covers, and what people and the job need to know of how they were
    chosen."""

    orders: OrderQuerySet
    # For people: "Grant Kajabi offer: Kajabi answered …" for a group, else empty.
    description: str = ""
    # A failure group's key: its re-run re-runs that cause's failed actions only.
    cause: str = ""


def orders_for(
    base: OrderQuerySet,
    *,
    checkout_ids: list[int],
    scope: str,
    numbers: list[int],
    query: Mapping[str, str | list[str]] | QueryDict,
    group: str,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> Selection:
    """The orders of `base` (scoped to what the caller may see) a job covers. Raises
    `ScopeError` when the filters or group do not read."""
    if scope == "selected":
        if not numbers:
            raise ScopeError({"numbers": gettext("Select at least one order.")})
        return Selection(base.filter(number__in=numbers))
    if scope == "group":
        found = find_group(base, now, group)
        if found is None:
            raise ScopeError(
                {"group": gettext("This group has no orders left in Requires attention.")}
            )
        return Selection(base.filter(pk__in=found.order_ids), found.label, found.key)
    form = OrderFilterForm(query, tz=tz)
    errors = form.messages()
    if errors:
        raise ScopeError(errors)
    return Selection(search_orders(base, form.filters, checkout_ids=checkout_ids))


class BulkForm(QueryForm):
    """A bulk request from the orders page: the verb, which orders, and the request's key."""

    verb = forms.ChoiceField(choices=BulkVerb.choices)
    scope = forms.ChoiceField(choices=SCOPES)
    numbers = forms.CharField(required=False, max_length=20 * 10_001)
    # The table's query string, for the "filter" scope.
    query = forms.CharField(required=False, max_length=4000)
    group = forms.CharField(required=False, max_length=80)
    key = forms.RegexField(
        regex=KEY, error_messages={"invalid": _("This form is out of date: reload the page.")}
    )
    use_latest_config = forms.BooleanField(required=False)
    confirm_count = forms.IntegerField(required=False, min_value=0, max_value=10**9)

    def clean_numbers(self) -> list[int]:
        try:
            return parse_numbers(self.cleaned_data.get("numbers") or "")
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def query_dict(self) -> QueryDict:
        return QueryDict(self.cleaned_data.get("query") or "")
