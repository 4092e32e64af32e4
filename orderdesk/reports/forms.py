"""The report settings (SPEC F8) as a form over the query string.

The reports page, its CSV export and the staff API's reports read their parameters through
`ReportForm`; its `params` are the `ReportParams` the report queries take.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.forms import ChoiceField, DayField, QueryForm, TextField, TimeZoneField
from orderdesk.reports.params import (
    DEFAULT_PRESET,
    PER_CURRENCY,
    ReportParams,
    Tab,
    display_currencies,
)
from orderdesk.reports.periods import Granularity, Preset, default_granularity, resolve_period


class ReportForm(QueryForm):
    """Report parameters from a query string; a bad one falls back to its default.

    So `params` can always fill the form again, while `messages()` names what was not valid
    (the page then shows no figures). `default_tz` applies when no `tz` is given, `now`
    decides what "today" is there, and `first_order_at` is asked only for "All time".
    """

    period = ChoiceField(
        choices=Preset.choices,
        error_messages={"invalid_choice": _("Choose a period from the list.")},
    )
    # `from` is a Python keyword: the field takes the query parameter's name this way.
    vars()["from"] = DayField()
    to = DayField()
    tz = TimeZoneField()
    granularity = ChoiceField(
        choices=Granularity.choices,
        error_messages={"invalid_choice": _("Choose day, week or month.")},
    )
    currency = TextField()
    tab = ChoiceField(choices=Tab.choices, error_messages={"invalid_choice": _("Unknown tab.")})

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        default_tz: str,
        now: dt.datetime,
        first_order_at: Callable[[], dt.datetime | None] | None = None,
    ) -> None:
        super().__init__(data)
        self.default_tz = default_tz
        self.now = now
        self.first_order_at = first_order_at

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"]
        return currency.upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == Preset.CUSTOM and not self.errors.keys() & {"from", "to"}:
            first_day, last_day = data.get("from"), data.get("to")
            if first_day is None:
                self.add_error("from", gettext("A custom range needs a first day."))
            if last_day is None:
                self.add_error("to", gettext("A custom range needs a last day."))
            if first_day and last_day and last_day < first_day:
                self.add_error("to", gettext("The last day is before the first day."))
        currency = data.get("currency")
        if currency and currency not in display_currencies(self._today()):
            self.add_error(
                "currency",
                ValidationError(gettext("Choose a currency from the list."), code="invalid"),
            )
        return data

    @cached_property
    def params(self) -> ReportParams:
        """The parameters that validated, with defaults in place of the others."""
        self.is_valid()  # cleans once; cleaned_data holds the valid parameters either way
        data = self.cleaned_data
        tz = self._tz()
        preset = data.get("period") or DEFAULT_PRESET
        if preset == Preset.CUSTOM and self.errors.keys() & {"from", "to"}:
            preset = DEFAULT_PRESET
        earliest = None
        if preset == Preset.ALL_TIME and self.first_order_at is not None:
            earliest = self.first_order_at()
        period = resolve_period(
            preset,
            today=self._today(),
            tz=tz,
            first_day=data.get("from"),
            last_day=data.get("to"),
            earliest_day=earliest.astimezone(tz).date() if earliest else None,
        )
        granularity = data.get("granularity") or ""
        auto = not granularity
        return ReportParams(
            preset=preset,
            period=period,
            granularity=default_granularity(period) if auto else granularity,
            currency=data.get("currency") or PER_CURRENCY,
            tab=data.get("tab") or Tab.SALES,
            auto_granularity=auto,
        )

    def _tz(self) -> ZoneInfo:
        tz: ZoneInfo | None = self.cleaned_data.get("tz")
        return tz or ZoneInfo(self.default_tz)

    def _today(self) -> dt.date:
        return self.now.astimezone(self._tz()).date()
