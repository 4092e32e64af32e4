"""The orders table's filters (SPEC F2) as a form over the query string.

The web table, its count, the CSV export and the staff API all read their filters through
`OrderFilterForm`; its `filters` are the `OrderFilters` that `filter_orders()` applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.forms import ChoiceField, DayField, QueryForm, TextField
from orderdesk.orders.models import AttentionReason, OrderStatus
from orderdesk.orders.queries import MIN_SUBSTRING, ORDER_NUMBER, OrderFilters, search_words

# ORDER_NUMBER allows 18 digits: every such number fits PostgreSQL's bigint.
MAX_NUMBER = 10**18 - 1
MAX_DISCOUNT_CODE = 50
NUMBER_MESSAGE = _("An order number is digits only, like 1042.")


class OrderTab(models.TextChoices):
    ALL = "all", _("All orders")
    ATTENTION = "attention", _("Requires attention")


class OrderFilterForm(QueryForm):
    """Filters from query parameters; `tz` decides where the days of the date range start.

    A parameter that does not validate is left out of `filters` and named in `messages()`;
    callers decide whether to show results anyway (the web table shows none, so nobody
    mistakes them for a match).
    """

    number = TextField()
    email = TextField()
    first_name = TextField()
    last_name = TextField()
    status = ChoiceField(
        choices=OrderStatus.choices,
        error_messages={"invalid_choice": _("Choose a status from the list.")},
    )
    source = TextField()
    tag = TextField()
    discount_code = TextField(max_length=MAX_DISCOUNT_CODE)
    date_from = DayField()
    date_to = DayField()
    q = TextField()
    tab = ChoiceField(
        choices=OrderTab.choices, error_messages={"invalid_choice": _("Unknown tab.")}
    )
    reason = ChoiceField(
        choices=AttentionReason.choices,
        error_messages={"invalid_choice": _("Choose a reason from the list.")},
    )
    disputed = TextField()

    def __init__(self, data: Mapping[str, Any], *, tz: dt.tzinfo) -> None:
        super().__init__(data)
        self.tz = tz

    def clean_number(self) -> int | None:
        raw: str = self.cleaned_data["number"]
        if not raw:
            return None
        match = ORDER_NUMBER.match(raw)
        if match is None:
            raise ValidationError(NUMBER_MESSAGE, code="invalid")
        return int(match.group(1))

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].lower()
        if email and "@" not in email and len(email) < MIN_SUBSTRING:
            raise ValidationError(
                gettext("Type at least %(count)s characters of the email.")
                % {"count": MIN_SUBSTRING},
                code="too_short",
            )
        return email

    def clean_disputed(self) -> bool:
        """Only orders with an open dispute: the page's checkbox sends 1, the API true."""
        raw: str = self.cleaned_data["disputed"].lower()
        if raw in ("", "0", "false"):
            return False
        if raw in ("1", "true", "on"):
            return True
        raise ValidationError(
            gettext("Use 1 to show only orders with an open dispute."), code="invalid"
        )

    def clean_q(self) -> str:
        q: str = self.cleaned_data["q"]
        # Shorter words narrow a search (a surname "Li" beside a first name) but cannot lead
        # one: a substring index needs three characters.
        longest = max((len(word) for word in search_words(q)), default=0)
        if q and not ORDER_NUMBER.match(q) and longest < MIN_SUBSTRING:
            raise ValidationError(
                gettext("Type at least %(count)s characters, or an order number.")
                % {"count": MIN_SUBSTRING},
                code="too_short",
            )
        return q

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", gettext("The end date is before the start date."))
        return data

    @property
    def filters(self) -> OrderFilters:
        """The parameters that validated, as `OrderFilters`."""
        self.is_valid()  # cleans once; cleaned_data holds the valid parameters either way
        data = self.cleaned_data
        start: dt.date | None = data.get("date_from")
        end: dt.date | None = data.get("date_to")
        return OrderFilters(
            number=data.get("number"),
            email=data.get("email", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            status=data.get("status", ""),
            source=data.get("source", ""),
            tag=data.get("tag", ""),
            discount_code=data.get("discount_code", ""),
            created_from=self._start_of(start) if start else None,
            created_before=self._start_of(end + dt.timedelta(days=1)) if end else None,
            q=data.get("q", ""),
            requires_attention=data.get("tab") == OrderTab.ATTENTION,
            attention_reason=data.get("reason", "")
            if data.get("tab") == OrderTab.ATTENTION
            else "",
            disputed=bool(data.get("disputed")),
        )

    def _start_of(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz)
