"""Form fields for query parameters: text without NUL characters, ISO days and time zones.

Query strings come from anyone. These fields turn a parameter into a value, or into one
message that says what to type instead, so every form over a query string (the orders
filters, the report settings; web and API alike) refuses the same things with the same words.
Every field is optional: an empty parameter means "not given".
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Self
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MAX_TEXT = 254
# Real zone names are at most about 30 characters; longer keys only cost a file lookup.
MAX_TIME_ZONE = 100
FIRST_YEAR, LAST_YEAR = 2000, 2100
NUL_MESSAGE = _("Remove the invisible NUL character (%00).")
DAY_MESSAGE = _("Use a date like 2026-01-31.")
YEAR_MESSAGE = format_lazy(
    _("Use a date between {first} and {last}."), first=FIRST_YEAR, last=LAST_YEAR
)
TIME_ZONE_MESSAGE = _("Use a time zone name like Europe/Helsinki.")


def query_text(value: object, *, max_length: int = MAX_TEXT) -> str:
    """`value` as text without surrounding space; refused if too long or holding a NUL."""
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise ValidationError(
            gettext("Use at most %(count)s characters.") % {"count": max_length},
            code="max_length",
        )
    if "\x00" in text:
        # PostgreSQL refuses NUL in any text parameter, and no stored value has one.
        raise ValidationError(NUL_MESSAGE, code="null_characters_not_allowed")
    return text


def iso_day(text: str) -> dt.date:
    """A day written in ISO 8601 (2026-01-31); ValueError otherwise.

    The API's query schemas parse dates with this too, so both interfaces accept the same
    spellings.
    """
    return dt.date.fromisoformat(text)


class _SharedField(forms.Field):
    """A field every form instance may share.

    Django deep-copies each field of each new form so one instance can change its fields;
    query forms never do, and the copies cost more than cleaning a whole query string.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class TextField(_SharedField):
    """Free text, stripped, at most `max_length` characters."""

    def __init__(
        self, *, max_length: int = MAX_TEXT, required: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(required=required, **kwargs)
        self.max_length = max_length

    def to_python(self, value: Any) -> str:
        return query_text(value, max_length=self.max_length)


class ChoiceField(_SharedField, forms.ChoiceField):
    """One of `choices`, stripped; say what to do in `error_messages["invalid_choice"]`."""

    def __init__(self, *, required: bool = False, **kwargs: Any) -> None:
        super().__init__(required=required, **kwargs)

    def to_python(self, value: Any) -> str:
        return query_text(value)


class DayField(_SharedField):
    """A calendar day (2026-01-31) between 2000 and 2100.

    The bounds keep a day's neighbours and its midnight in any time zone representable.
    """

    def __init__(self, *, required: bool = False, **kwargs: Any) -> None:
        super().__init__(required=required, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            day = value
        else:
            text = query_text(value)
            if not text:
                return None
            try:
                day = iso_day(text)
            except ValueError:
                raise ValidationError(DAY_MESSAGE, code="invalid") from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationError(YEAR_MESSAGE, code="out_of_range")
        return day


class TimeZoneField(_SharedField):
    """An IANA time zone name (Europe/Helsinki), as a `ZoneInfo`."""

    def __init__(self, *, required: bool = False, **kwargs: Any) -> None:
        super().__init__(required=required, **kwargs)

    def to_python(self, value: Any) -> ZoneInfo | None:
        if isinstance(value, ZoneInfo):
            return value
        name = query_text(value, max_length=MAX_TIME_ZONE)
        if not name:
            return None
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # ValueError: a path, not a key (../etc/passwd), or a file that is no zone.
            raise ValidationError(TIME_ZONE_MESSAGE, code="invalid") from None


class QueryForm(forms.Form):
    """A form over query parameters, read as one plain message per bad parameter."""

    def full_clean(self) -> None:
        # Most requests carry no parameter at all (the table's first page, a report's
        # defaults). Where every field is optional, blank means "not given": there is nothing
        # to clean, and walking the fields costs more than some of those pages' own Python.
        if (
            self.is_bound
            and not any(self.data.get(name) for name in self.fields)
            and not any(field.required for field in self.fields.values())
        ):
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def messages(self) -> dict[str, str]:
        """The first message of each parameter that did not validate, in field order."""
        return {name: str(errors[0]) for name, errors in self.errors.items()}
