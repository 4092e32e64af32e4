"""The rough edges a merchant noticed first (issue 17, point 6), each pinned by a test.

Payment methods by their labels everywhere, refunds that rise read as bad, legend counts in the
plural they need, "this year" against the same dates last year, styled error pages, a viewer
told the page is read only, an Excel-friendly CSV and a checkout switch that stays on the page.
(Clean filter URLs are a browser matter: test_orders_browser.py.)
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from orderdesk.orders.models import Order
from orderdesk.organizations.models import CheckoutMembership, CheckoutRole
from orderdesk.payments.models import PaymentAttempt
from orderdesk.reports.queries import Figures
from orderdesk.testing import factories
from orderdesk.web.views.reports import _cards


def recently(hours: int = 1) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_analytics_tab_names_methods_and_providers_as_the_table_does(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, created_at=recently(), provider="paytrail")
    PaymentAttempt.objects.filter(order=order).update(method="osuuspankki")
    other = factories.order(world, created_at=recently(2))
    PaymentAttempt.objects.filter(order=other).update(method="google_pay")
    client.force_login(world.alice)

    html = client.get("/reports/", {"period": "last_7_days", "tab": "analytics"}).content.decode()

    methods = html[html.index("Payment methods") :]
    assert ">OP<" in methods
    assert ">Google Pay<" in methods
    assert ">Paytrail<" in methods
    assert "osuuspankki" not in methods
    assert "google_pay" not in methods


def _figures(refunds: str, revenue: str = "100") -> Figures:
    return Figures(
        revenue={"EUR": Decimal(revenue)},
        orders=1,
        orders_by_currency={"EUR": 1},  # type: ignore[arg-type]
        opened=1,
        opened_by_currency={"EUR": 1},  # type: ignore[arg-type]
        refunds={"EUR": Decimal(refunds)},
    )


def test_rising_refunds_read_as_bad_and_rising_revenue_as_good() -> None:
    cards = {card.label: card for card in _cards(_figures("30", "200"), _figures("10", "100"))}

    ((_, refunds),) = cards["Refunds"].changes
    ((_, revenue),) = cards["Revenue"].changes
    assert (refunds.arrow, refunds.tone) == ("▲", "bad")
    assert (revenue.arrow, revenue.tone) == ("▲", "good")
    falling = {card.label: card for card in _cards(_figures("5"), _figures("10"))}
    ((_, fewer_refunds),) = falling["Refunds"].changes
    assert (fewer_refunds.arrow, fewer_refunds.tone) == ("▼", "good")


def test_the_report_says_better_or_worse_in_words(client: Client, world: factories.World) -> None:
    factories.order(world, created_at=recently())
    factories.order(world, created_at=recently(24 * 9))
    factories.order(world, created_at=recently(24 * 10))
    client.force_login(world.alice)

    html = client.get("/reports/", {"period": "last_7_days", "tab": "products"}).content.decode()

    orders_card = html[html.index(">Orders</h2>") :]
    orders_card = orders_card[: orders_card.index("</li>")]
    # Orders fell from two to one: the arrow, the colour class and a word, not colour alone.
    assert "change-bad" in orders_card
    assert "▼" in orders_card
    assert "(worse)" in text_of(orders_card)


def test_a_chart_legend_counts_one_other_in_the_singular(
    client: Client, world: factories.World
) -> None:
    for n in range(6):
        order = factories.order(world, created_at=recently(n + 1))
        Order.objects.filter(pk=order.pk).update(source=f"source-{n}")
    client.force_login(world.alice)

    html = text_of(client.get("/reports/", {"period": "last_7_days"}).content.decode())

    assert "1 other " in html
    assert "1 others" not in html


@pytest.mark.time_machine(dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC), tick=False)
def test_this_year_names_the_same_dates_last_year(client: Client, world: factories.World) -> None:
    client.force_login(world.alice)

    html = text_of(client.get("/reports/", {"period": "this_year"}).content.decode())

    assert "compared with the same dates last year, 1 Jan 2025 – 5 Dec 2025" in html


def test_a_missing_order_gets_a_styled_page_in_the_members_language(
    client: Client, world: factories.World
) -> None:
    client.force_login(world.alice)

    response = client.get("/orders/987654/")

    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="app-header"' in html
    assert "Page not found" in html
    assert '<link rel="stylesheet" href="/static/web/app.css">' in html
    world.alice.language = "fi"
    world.alice.save(update_fields=["language"])
    finnish = client.get("/no-such-page/").content.decode()
    assert "Sivua ei löytynyt" in finnish
    assert '<html lang="fi">' in finnish


def test_an_anonymous_visitor_gets_the_bare_styled_page(client: Client, db: None) -> None:
    response = client.get("/no-such-page/", headers={"accept-language": "sv"})

    assert response.status_code == 404
    html = response.content.decode()
    assert "Sidan hittades inte" in html
    assert "app-header" not in html
    assert "/static/web/app.css" in html


def test_a_viewer_who_acts_gets_a_styled_403(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    client.force_login(world.bob)

    response = client.post(f"/orders/{order.number}/mark-completed/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html
    assert 'class="app-header"' in html


def test_a_server_error_page_is_styled_and_needs_no_request_context(db: None) -> None:
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "/static/web/app.css" in html


def test_a_viewer_is_told_the_pages_are_read_only(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    client.force_login(world.bob)

    for url in ("/orders/", f"/orders/{order.number}/", "/reports/"):
        html = client.get(url).content.decode()
        assert 'id="read-only-banner"' in html, url
        assert "your role on this checkout is Viewer" in text_of(html), url
    client.force_login(world.sam)
    assert 'id="read-only-banner"' not in client.get("/orders/").content.decode()


def _body(response: Any) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)  # type: ignore[arg-type]


def test_the_csv_for_excel_has_a_byte_order_mark_and_the_plain_one_has_none(
    client: Client, world: factories.World
) -> None:
    factories.order(world, last_name="Järvinen", created_at=recently())
    client.force_login(world.alice)

    plain = _body(client.get("/orders/export.csv"))
    excel = _body(client.get("/orders/export.csv?format=excel"))
    report = _body(client.get("/reports/export.csv?period=last_7_days&format=excel"))

    assert plain.startswith(b"Order number,")
    assert excel == b"\xef\xbb\xbf" + plain
    assert report.startswith(b"\xef\xbb\xbfOrder number,")
    assert "Järvinen" in excel.decode("utf-8-sig")
    page = client.get("/orders/").content.decode()
    assert 'id="orders-export-excel"' in page
    assert "format=excel" in page


def test_switching_checkout_on_reports_stays_on_reports(
    client: Client, world: factories.World
) -> None:
    second, _key = factories.checkout(world.org, "Second shop")
    CheckoutMembership.objects.create(checkout=second, user=world.sam, role=CheckoutRole.VIEWER)
    order = factories.order(world)
    client.force_login(world.sam)
    page = client.get("/reports/?period=this_year&tab=products").content.decode()
    assert 'name="next" value="/reports/?period=this_year&amp;tab=products"' in page

    def switch(to: int, back: str) -> str:
        response = client.post("/checkout/", {"checkout": to, "next": back})
        assert response.status_code == 302
        return str(response["Location"])

    assert switch(second.pk, "/reports/?period=this_year&tab=products") == (
        "/reports/?period=this_year&tab=products"
    )
    assert switch(world.checkout.pk, "/account/") == "/account/"
    # The orders table starts clean: its filters and open order were the other checkout's.
    assert switch(second.pk, f"/orders/{order.number}/?status=paid") == "/orders/"
    assert switch(second.pk, "https://evil.example/reports/") == "/orders/"
    assert switch(second.pk, "/no-such-page/") == "/orders/"
