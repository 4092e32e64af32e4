"""Fuzzing the GET filters of the orders table, the reports and the CSV exports (hypothesis).

A signed-in owner sends any query string: random text, huge numbers, bad dates and cursors,
unknown and repeated parameters. The answer is never a 500; a bad value is a 400 that shows
its message (a field error on the pages, a `name: message` line in a CSV export's place).
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.http.response import HttpResponseBase
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import OrderStatus
from orderdesk.orders.queries import Cursor
from orderdesk.reports.forms import ReportForm
from orderdesk.testing import factories

# FUZZ_EXAMPLES=2000 for a deep run by hand; the default keeps the suite quick.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "75"))

ORDER_PARAMS = [*OrderFilterForm.base_fields, "after", "before"]
REPORT_PARAMS = list(ReportForm.base_fields)

# Values that are almost right are the ones that slip past a parser.
TRICKY = [
    "",
    " ",
    "0",
    "-1",
    "#1",
    "1" * 18,
    "9" * 19,
    "9" * 400,
    "2026-01-31",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "2026-W05-3",
    "20260131",
    "1_1",
    "-999999999999999999_1",
    "999999999999999999_999999999999999999",
    "0_0",
    "paid",
    "attention",
    "custom",
    "all_time",
    "week",
    "EUR",
    "eur",
    "XXX",
    "UTC",
    "Europe/Helsinki",
    "posixrules",
    "zone.tab",
    "tzdata.zi",
    "Etc/GMT+14",
    "../etc/passwd",
    "a\x00b",
    "\x00",
    "%00",
    "١٢٣",
    "𝟙𝟚𝟛",
    "x@y",
    "Ä" * 300,
]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40), st.integers().map(str))


def query_strategy(names: list[str]) -> st.SearchStrategy[str]:
    name = st.one_of(st.sampled_from(names), st.text(max_size=10))
    pair = st.tuples(name, values).map(lambda p: f"{quote(p[0])}={quote(p[1])}")
    raw = st.text(alphabet=st.characters(codec="ascii"), max_size=60)  # %zz, &&, =, ;
    return st.one_of(st.lists(pair, max_size=6).map("&".join), raw)


def order_errors(query: str, *, cursors: bool) -> dict[str, str]:
    params = QueryDict(query)
    errors = OrderFilterForm(params, tz=dt.UTC).messages()
    # The export takes every matching order, so it reads no page cursors.
    for name in ("after", "before") if cursors else ():
        if params.get(name) and Cursor.decode(params[name]) is None:
            errors[name] = "This page link is not valid; go back to the first page."
    return errors


def report_errors(query: str) -> dict[str, str]:
    return ReportForm(QueryDict(query), default_tz="UTC", now=timezone.now()).messages()


def check(response: HttpResponseBase, url: str, errors: dict[str, str], *, csv: bool) -> None:
    """Never a 500; with bad values a 400 that shows each message, else a 200."""
    # Reading a streamed CSV runs its queries: a failure there is a 500 too, only later.
    content = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content  # type: ignore[attr-defined]
    )
    assert response.status_code == (400 if errors else 200), (url, response.status_code, errors)
    body = content.decode()
    for name, message in errors.items():
        shown = f"{name}: {message}" if csv else escape(message)
        assert shown in body, (url, shown, body[:1000])


@pytest.fixture
def alice(client: Client, world: factories.World) -> Client:
    factories.order(world)
    factories.order(world, status=OrderStatus.REFUNDED)
    factories.discount_code(world.checkout)
    client.force_login(world.alice)
    return client


FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize(
    ("path", "csv"),
    [("/orders/", False), ("/orders/export.csv", True)],
)
def test_orders_filters_never_fail(alice: Client, path: str, csv: bool) -> None:
    @FUZZ_SETTINGS
    @given(query=query_strategy(ORDER_PARAMS), htmx=st.booleans())
    @example(query="q=a%00b", htmx=False)
    @example(query="email=%00%00%00", htmx=False)
    @example(query="after=-999999999999999999_1", htmx=False)
    @example(query="before=999999999999_999999999999999999", htmx=False)
    @example(query="number=999999999999999999&number=1", htmx=True)
    def fuzz(query: str, htmx: bool) -> None:
        headers = {"HX-Request": "true", "HX-Target": "orders-body"} if htmx and not csv else {}
        response = alice.get(path, QUERY_STRING=query, headers=headers)
        check(response, f"{path}?{query}", order_errors(query, cursors=not csv), csv=csv)

    fuzz()


def test_order_count_never_fails(alice: Client) -> None:
    # The count follows the table in its own request; the table shows the messages, the
    # count of a bad filter is left blank (test_orders_table).
    @FUZZ_SETTINGS
    @given(query=query_strategy(ORDER_PARAMS))
    @example(query="q=a%00b")
    def fuzz(query: str) -> None:
        response = alice.get("/orders/count/", QUERY_STRING=query)
        assert response.status_code == 200, (query, response.status_code)

    fuzz()


@pytest.mark.parametrize(
    ("path", "csv"),
    [("/reports/", False), ("/reports/export.csv", True)],
)
def test_report_params_never_fail(alice: Client, path: str, csv: bool) -> None:
    @FUZZ_SETTINGS
    @given(query=query_strategy(REPORT_PARAMS), htmx=st.booleans())
    @example(query="tz=posixrules", htmx=False)
    @example(query="tz=a%00b", htmx=False)
    @example(query="period=custom&from=2000-01-01&to=2100-12-31&granularity=day", htmx=False)
    @example(query="period=all_time&tz=Etc%2FGMT%2B14", htmx=False)
    def fuzz(query: str, htmx: bool) -> None:
        headers = {"HX-Request": "true", "HX-Target": "report"} if htmx and not csv else {}
        response = alice.get(path, QUERY_STRING=query, headers=headers)
        check(response, f"{path}?{query}", report_errors(query), csv=csv)

    fuzz()
