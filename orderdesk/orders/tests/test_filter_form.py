from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.queries import OrderFilters

HELSINKI = ZoneInfo("Europe/Helsinki")


def test_it_builds_every_filter_from_the_query_string() -> None:
    form = OrderFilterForm(
        QueryDict(
            "number=%2342&email=+Maija%40Example.com+&first_name=Maija&last_name=Virtanen"
            "&status=paid&source=Meta&tag=vip&discount_code=SPRING&date_from=2026-01-01"
            "&date_to=2026-01-31&q=virta&tab=attention"
        ),
        tz=HELSINKI,
    )

    assert form.messages() == {}
    assert form.filters == OrderFilters(
        number=42,
        email="maija@example.com",
        first_name="Maija",
        last_name="Virtanen",
        status="paid",
        source="Meta",
        tag="vip",
        discount_code="SPRING",
        created_from=dt.datetime(2026, 1, 1, tzinfo=HELSINKI),
        created_before=dt.datetime(2026, 2, 1, tzinfo=HELSINKI),
        q="virta",
        requires_attention=True,
    )


def test_no_parameters_mean_no_filters() -> None:
    form = OrderFilterForm(QueryDict(""), tz=HELSINKI)

    assert form.messages() == {}
    assert form.filters == OrderFilters()
    assert not form.filters.is_filtered


def test_it_takes_typed_values_as_the_api_passes_them() -> None:
    form = OrderFilterForm(
        {"number": 1042, "date_from": dt.date(2026, 3, 1), "status": "refunded", "tab": "all"},
        tz=dt.UTC,
    )

    assert form.messages() == {}
    assert form.filters.number == 1042
    assert form.filters.created_from == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert form.filters.status == "refunded"
    assert form.filters.requires_attention is False


def test_the_date_range_starts_at_midnight_in_the_given_time_zone() -> None:
    form = OrderFilterForm({"date_from": "2026-07-01", "date_to": "2026-07-01"}, tz=HELSINKI)

    filters = form.filters
    assert filters.created_from is not None
    assert filters.created_before is not None
    assert filters.created_from.astimezone(dt.UTC) == dt.datetime(2026, 6, 30, 21, tzinfo=dt.UTC)
    assert filters.created_before - filters.created_from == dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"number": "12a"}, "number", "An order number is digits only, like 1042."),
        ({"number": "1" * 19}, "number", "An order number is digits only, like 1042."),
        ({"status": "lost"}, "status", "Choose a status from the list."),
        ({"date_from": "31.1.2026"}, "date_from", "Use a date like 2026-01-31."),
        ({"date_to": "2026-02-30"}, "date_to", "Use a date like 2026-01-31."),
        ({"date_from": "1999-12-31"}, "date_from", "Use a date between 2000 and 2100."),
        (
            {"date_from": "2026-02-01", "date_to": "2026-01-01"},
            "date_to",
            "The end date is before the start date.",
        ),
        ({"q": "ab"}, "q", "Type at least 3 characters, or an order number."),
        ({"email": "ab"}, "email", "Type at least 3 characters of the email."),
        ({"discount_code": "X" * 51}, "discount_code", "Use at most 50 characters."),
        ({"tag": "x" * 255}, "tag", "Use at most 254 characters."),
        ({"tab": "everything"}, "tab", "Unknown tab."),
        # Found by test_query_fuzz: PostgreSQL refused the NUL with a 500.
        ({"q": "abc\x00"}, "q", "Remove the invisible NUL character (%00)."),
        ({"email": "\x00\x00\x00"}, "email", "Remove the invisible NUL character (%00)."),
        ({"first_name": "Ma\x00ija"}, "first_name", "Remove the invisible NUL character (%00)."),
        ({"status": "paid\x00"}, "status", "Remove the invisible NUL character (%00)."),
        ({"date_to": "2026\x00"}, "date_to", "Remove the invisible NUL character (%00)."),
    ],
)
def test_it_names_the_bad_parameter_and_says_what_to_do(
    params: dict[str, str], field: str, message: str
) -> None:
    form = OrderFilterForm(params, tz=HELSINKI)

    assert form.messages() == {field: message}


def test_it_leaves_a_bad_parameter_out_of_the_filters() -> None:
    form = OrderFilterForm({"status": "lost", "email": "anna@example.com"}, tz=HELSINKI)

    assert set(form.messages()) == {"status"}
    assert form.filters == OrderFilters(email="anna@example.com")


def test_it_names_every_bad_parameter_in_form_order() -> None:
    params: dict[str, Any] = {"tab": "x", "number": "x", "status": "x"}

    assert list(OrderFilterForm(params, tz=HELSINKI).messages()) == ["number", "status", "tab"]
