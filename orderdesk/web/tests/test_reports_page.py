from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from orderdesk.orders.models import DeviceType, OrderStatus
from orderdesk.testing import factories


@pytest.fixture
def alice(client: Client, world: factories.World) -> Client:
    client.force_login(world.alice)
    return client


def recently(hours: int = 1) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def shop(world: factories.World) -> None:
    factories.order(
        world,
        created_at=recently(),
        add_ons=(world.bump,),
        region="Uusimaa",
        analytics_consent=True,
    )
    factories.order(
        world, created_at=recently(2), currency="SEK", country="SE", device_type=DeviceType.MOBILE
    )
    factories.order(
        world, created_at=recently(3), status=OrderStatus.STARTED, analytics_consent=False
    )


def csv_rows(response: StreamingHttpResponse) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


def test_it_sends_anonymous_visitors_to_login(client: Client, db: None) -> None:
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/reports/")


@pytest.mark.parametrize("tab", ["sales", "products", "international", "analytics"])
def test_it_renders_every_tab_with_cards_and_charts(
    alice: Client, world: factories.World, tab: str
) -> None:
    shop(world)
    response = alice.get("/reports/", {"period": "last_7_days", "tab": tab})
    html = response.content.decode()
    assert response.status_code == 200
    for card in (
        "Revenue",
        "Orders",
        "Average order value",
        "Conversion rate",
        "Refunds",
        "Net revenue",
    ):
        assert f'<h2 class="metric-label">{card}</h2>' in html
    assert "€88.00" in html  # EUR revenue, kept apart from SEK
    assert "SEK" in html
    if tab in ("sales", "analytics"):
        assert '<svg class="chart"' in html
    assert (
        'aria-current="page">'
        + {
            "sales": "Sales tracking",
            "products": "Products &amp; add-on sales",
            "international": "International",
            "analytics": "Analytics",
        }[tab]
        in html
    )


def test_it_converts_and_says_which_rates_it_used(alice: Client, world: factories.World) -> None:
    shop(world)
    html = alice.get("/reports/", {"period": "last_7_days", "currency": "EUR"}).content.decode()
    assert "Exchange rates used" in html
    assert re.search(r"<strong>SEK</strong>: 1 day", html)
    # "Every rate used", one row per currency and day (built by the view, not the template).
    assert re.search(
        r"<tr><td>SEK</td><td>\d{4}-\d\d-\d\d</td><td>\d{4}-\d\d-\d\d"
        r'(?: <span class="muted">\(last earlier rate\)</span>)?</td>'
        r'<td class="num">\d+\.\d+</td></tr>',
        html,
    )


def test_it_lets_a_viewer_read_reports(client: Client, world: factories.World) -> None:
    shop(world)
    client.force_login(world.bob)
    response = client.get("/reports/", {"period": "today"})
    assert response.status_code == 200


def test_it_shows_another_organization_nothing(client: Client, world: factories.World) -> None:
    shop(world)
    client.force_login(world.charlie)
    html = client.get("/reports/", {"period": "last_7_days"}).content.decode()
    assert "€88.00" not in html
    rows = csv_rows(client.get("/reports/export.csv", {"period": "last_7_days"}))  # type: ignore[arg-type]
    assert rows == []


def test_it_explains_invalid_settings_with_a_400(alice: Client, world: factories.World) -> None:
    response = alice.get(
        "/reports/",
        {"tz": "Mars/Olympus", "period": "custom", "from": "2026-02-10", "to": "2026-02-01"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Use a time zone name like Europe/Helsinki." in html
    assert "The last day is before the first day." in html


def test_it_answers_htmx_with_the_report_only(alice: Client, world: factories.World) -> None:
    response = alice.get(
        "/reports/", {"tab": "analytics"}, headers={"HX-Request": "true", "HX-Target": "report"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="report"')
    assert "report-form" in html  # the tab input still belongs to the form


def test_it_exports_the_sales_of_the_period(alice: Client, world: factories.World) -> None:
    shop(world)
    factories.order(world, created_at=recently(24 * 40), email="old@example.com")
    response = alice.get("/reports/export.csv", {"period": "last_7_days", "tz": "Europe/Helsinki"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    assert {r["Currency"] for r in rows} == {"EUR", "SEK"}
    assert len(rows) == 3  # two lines of the EUR order, one of the SEK order; never the unpaid one
    assert all(r["Paid"].endswith(("+02:00", "+03:00")) for r in rows)
    assert "old@example.com" not in {r["Customer email"] for r in rows}


def test_it_exports_the_orders_page_filters(alice: Client, world: factories.World) -> None:
    shop(world)
    response = alice.get("/orders/export.csv", {"status": "started"})
    rows = csv_rows(response)  # type: ignore[arg-type]
    assert {r["Status"] for r in rows} == {"Started"}
    assert alice.get("/orders/export.csv", {"status": "nope"}).status_code == 400


def test_it_links_the_export_from_both_pages(alice: Client, world: factories.World) -> None:
    reports = alice.get("/reports/", {"period": "this_year"}).content.decode()
    assert 'href="/reports/export.csv?period=this_year' in reports
    orders = alice.get("/orders/", {"status": "paid"}).content.decode()
    assert 'href="/orders/export.csv?status=paid' in orders


def test_it_tables_consent_answers_per_bucket(alice: Client, world: factories.World) -> None:
    at = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    for consent in (True, True, False, None):
        factories.order(world, created_at=at, analytics_consent=consent)
    html = alice.get(
        "/reports/",
        {
            "tab": "analytics",
            "period": "custom",
            "from": "2026-03-02",
            "to": "2026-03-03",
            "tz": "Europe/Helsinki",
            "granularity": "day",
        },
    ).content.decode()
    # Per day: accepted, rejected, not answered and the consent rate (accepted ÷ answered);
    # a day without answers has no rate.
    assert (
        '<tr><th scope="row">2 Mar 2026</th><td class="num">2</td><td class="num">1</td>'
        '<td class="num">1</td><td class="num">66.7 %</td></tr>'
    ) in html
    assert (
        '<tr><th scope="row">3 Mar 2026</th><td class="num">0</td><td class="num">0</td>'
        '<td class="num">0</td><td class="num">–</td></tr>'
    ) in html
