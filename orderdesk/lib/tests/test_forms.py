from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from orderdesk.lib.forms import DayField, QueryForm, TextField, TimeZoneField, query_text


def message_of(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(error.value.messages[0])


def test_query_text_strips_and_counts_what_is_left() -> None:
    assert query_text("  abc  ", max_length=3) == "abc"
    assert query_text(None) == ""
    assert query_text(42) == "42"
    with pytest.raises(ValidationError) as error:
        query_text("abcd", max_length=3)
    assert message_of(error) == "Use at most 3 characters."


def test_query_text_refuses_a_nul_anywhere() -> None:
    with pytest.raises(ValidationError) as error:
        query_text("a\x00b")
    assert message_of(error) == "Remove the invisible NUL character (%00)."


def test_an_empty_field_is_not_given() -> None:
    assert TextField().clean("") == ""
    assert DayField().clean("  ") is None
    assert TimeZoneField().clean("") is None


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2026-01-31", dt.date(2026, 1, 31)),
        (" 2000-01-01 ", dt.date(2000, 1, 1)),
        ("2100-12-31", dt.date(2100, 12, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 1)),
    ],
)
def test_a_day_is_iso_8601_between_2000_and_2100(raw: object, day: dt.date) -> None:
    assert DayField().clean(raw) == day


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1999-12-31", "Use a date between 2000 and 2100."),
        ("9999-12-31", "Use a date between 2000 and 2100."),
        ("31.1.2026", "Use a date like 2026-01-31."),
        ("2026-02-30", "Use a date like 2026-01-31."),
        # A moment is not a day: the caller's time zone would decide which day it is.
        (dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC), "Use a date like 2026-01-31."),
    ],
)
def test_a_day_outside_says_what_to_type(raw: object, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        DayField().clean(raw)
    assert message_of(error) == message


def test_a_time_zone_is_an_iana_name() -> None:
    assert TimeZoneField().clean(" Europe/Helsinki ") == ZoneInfo("Europe/Helsinki")
    for name in ("Mars/Olympus", "../etc/passwd", "zone.tab", "Europe/", "x" * 101):
        with pytest.raises(ValidationError):
            TimeZoneField().clean(name)


class Search(QueryForm):
    text = TextField(max_length=5)
    day = DayField()


def test_forms_share_their_fields_but_not_their_results() -> None:
    good = Search({"text": "abc", "day": "2026-01-31"})
    bad = Search({"text": "abcdef", "day": "2026-13-01"})

    assert bad.messages() == {
        "text": "Use at most 5 characters.",
        "day": "Use a date like 2026-01-31.",
    }
    assert good.messages() == {}
    assert good.cleaned_data == {"text": "abc", "day": dt.date(2026, 1, 31)}
    assert good.fields["text"] is bad.fields["text"]


class Spy(TextField):
    cleaned = 0

    def clean(self, value: object) -> str:
        Spy.cleaned += 1
        text: str = super().clean(value)
        return text


class Watched(QueryForm):
    text = Spy()
    day = DayField()


class Needed(QueryForm):
    text = TextField(required=True)


def test_a_query_without_parameters_is_not_walked_field_by_field() -> None:
    Spy.cleaned = 0
    empty = Watched({"other": "x", "text": ""})

    assert empty.messages() == {}
    assert empty.cleaned_data == {}
    assert Spy.cleaned == 0
    # A parameter given (even one the fields refuse) is cleaned as usual.
    assert Watched({"day": "\x00"}).messages() == {
        "day": "Remove the invisible NUL character (%00)."
    }
    assert Spy.cleaned == 1
    # A form with a required field still says it is missing.
    assert Needed({}).messages() == {"text": "This field is required."}
