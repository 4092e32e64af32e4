from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from orderdesk.catalog.models import CheckoutLink, Offer
from orderdesk.orders.models import ActionHealth, Order, OrderLine, OrderStatus
from orderdesk.organizations.models import CheckoutMembership, CheckoutRole
from orderdesk.payments.models import PaymentAttempt, PaymentStatus
from orderdesk.testing import factories
from orderdesk.workflows.live import row_version

HTMX_BODY = {"HX-Request": "true", "HX-Target": "orders-body"}


def numbers_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="order-row-(\d+)"', html)]


@pytest.fixture
def alice(client: Client, world: factories.World) -> Client:
    client.force_login(world.alice)
    return client


def test_it_sends_anonymous_visitors_to_login(client: Client, db: None) -> None:
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/orders/")


def test_it_shows_the_eight_columns_in_order(alice: Client, world: factories.World) -> None:
    factories.order(world)
    html = alice.get("/orders/").content.decode()
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html.split("orders-table")[1])[:8]
    assert headers == [
        "Status",
        "Created",
        "Customer",
        "Total",
        "Products",
        "Payment Method",
        "Source",
        "Country",
    ]


# Tuesday 14 July 2026, 15:00 in Helsinki (summer time, UTC+3); the row shows a time of today
# as 12:30 and a day of another year with its year.
@pytest.mark.time_machine(dt.datetime(2026, 7, 14, 12, 0, tzinfo=dt.UTC), tick=False)
def test_it_shows_a_row_as_the_spec_describes(alice: Client, world: factories.World) -> None:
    order = factories.order(
        world,
        add_ons=(world.bump, world.upsell),
        email="maija@example.com",
        country="SE",
        method="mobilepay",
        created_at=dt.datetime(2026, 7, 14, 9, 30, tzinfo=dt.UTC),
    )
    last_year = factories.order(world, created_at=dt.datetime(2025, 11, 27, 10, 0, tzinfo=dt.UTC))
    html = alice.get("/orders/").content.decode()
    row = html.split(f'id="order-row-{order.number}"')[1].split("</tr>")[0]
    assert "badge status-paid" in row
    assert ">Paid<" in row
    assert "maija@example.com" in row
    assert "€237.00" in row
    assert "Photography Masterclass" in row
    assert 'addon-order_bump">Order bump</span> Workbook PDF' in row
    assert 'addon-pre_upsell">Pre-upsell</span> 1:1 Coaching Call' in row
    assert "Stripe · MobilePay · Succeeded" in row
    assert "Meta" in row
    assert '<span class="chip">black-friday</span>' in row
    assert "Sweden" in row
    # In the organization's time zone (Europe/Helsinki): short, and exact in the tooltip.
    assert '<time datetime="2026-07-14T12:30:00+03:00"' in row
    assert ">12:30</time>" in row
    assert ">2026-07-14 12:30:00 EEST (Europe/Helsinki)</span>" in row
    older = html.split(f'id="order-row-{last_year.number}"')[1].split("</tr>")[0]
    assert ">27 Nov 2025</time>" in older
    assert ">2025-11-27 12:00:00 EET (Europe/Helsinki)</span>" in older


def test_it_escapes_what_customers_and_merchants_typed(
    alice: Client, world: factories.World
) -> None:
    order = factories.order(world, email="<script>alert(1)</script>@example.com")
    Order.objects.filter(pk=order.pk).update(
        source='Meta"><img src=x>', tags=["<b>bold</b>", "a&b"], country="<x"
    )
    OrderLine.objects.filter(order=order).update(name='<script>alert("p")</script>')
    html = alice.get("/orders/").content.decode()
    row = html.split(f'id="order-row-{order.number}"')[1].split("</tr>")[0]
    assert "<script>" not in row
    assert "<img" not in row
    assert "<b>" not in row
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in row
    assert "&lt;script&gt;alert(&quot;p&quot;)&lt;/script&gt;" in row
    assert '<span class="source-name">Meta&quot;&gt;&lt;img src=x&gt;</span>' in row
    assert (
        '<span class="chip">&lt;b&gt;bold&lt;/b&gt;</span><span class="chip">a&amp;b</span>' in row
    )
    assert "<td>&lt;X</td>" in row


def test_it_renders_a_row_with_its_ids_and_links(alice: Client, world: factories.World) -> None:
    order = factories.order(world, email="", status=OrderStatus.STARTED)
    OrderLine.objects.filter(order=order).delete()
    PaymentAttempt.objects.filter(order=order).delete()
    Order.objects.filter(pk=order.pk).update(source="", tags=[])
    html = alice.get("/orders/", {"status": "started"}).content.decode()
    row = html.split(f'id="order-row-{order.number}"')[1].split("</tr>")[0]
    n = order.number
    order.refresh_from_db()
    version = row_version(order.updated_at)
    assert row.startswith(f' class="order-row" data-number="{n}" data-version="{version}">')
    assert f'aria-describedby="created-tip-{n}"' in row
    assert f'role="tooltip" id="created-tip-{n}"' in row
    # The panel link keeps the table's filters.
    assert f'href="/orders/{n}/?status=started" data-order="{n}"' in row
    assert f'hx-get="/orders/{n}/?status=started" hx-target="#panel"' in row
    assert f'No email yet</span><span class="visually-hidden">, order #{n}</span></a>' in row
    assert '<td class="products"><span class="muted">—</span></td>' in row
    assert '<span class="muted">No payment yet</span>' in row
    assert '<td class="source"><span class="muted">—</span></td>' in row


def test_it_prefers_the_settled_payment_attempt(alice: Client, world: factories.World) -> None:
    order = factories.order(world)
    PaymentAttempt.objects.create(
        order=order,
        provider="paytrail",
        method="nordea",
        status=PaymentStatus.CANCELLED,
        amount_minor=100,
        currency="EUR",
        stamp="late-retry",
        created_at=timezone.now(),
    )
    html = alice.get("/orders/").content.decode()
    assert "Stripe · Card · Succeeded" in html
    assert "Paytrail" not in html


def test_it_uses_the_users_own_time_zone(alice: Client, world: factories.World) -> None:
    world.alice.time_zone = "America/New_York"
    world.alice.save()
    factories.order(world, created_at=dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC))
    html = alice.get("/orders/").content.decode()
    assert "2025-06-01 08:00:00 EDT (America/New_York)" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"email": "anna@example.com"}, ["anna"]),
        ({"first_name": "anna"}, ["anna"]),
        ({"last_name": "korhonen"}, ["bert"]),
        ({"status": "refunded"}, ["bert"]),
        ({"source": "Google"}, ["bert"]),
        ({"tag": "ads"}, ["anna", "bert"]),
        ({"discount_code": "NOPE"}, []),
        ({"q": "virtanen"}, ["anna"]),
        ({"q": "shop.fi"}, ["bert"]),
        ({"status": "paid", "q": "anna"}, ["anna"]),
        ({"status": "paid", "tag": "ads", "email": "bert@shop.fi"}, []),
        ({"date_from": "2000-01-01", "date_to": "2000-01-02"}, []),
    ],
)
def test_it_filters_through_the_query_string(
    alice: Client, world: factories.World, params: dict[str, str], expected: list[str]
) -> None:
    anna = factories.order(world, email="anna@example.com", first_name="Anna", last_name="Virtanen")
    bert = factories.order(
        world,
        email="bert@shop.fi",
        first_name="Bert",
        last_name="Korhonen",
        status=OrderStatus.REFUNDED,
    )
    Order.objects.filter(pk=bert.pk).update(source="Google")
    by_name = {"anna": anna.number, "bert": bert.number}
    response = alice.get("/orders/", params)
    assert response.status_code == 200
    assert sorted(numbers_in(response.content.decode())) == sorted(by_name[n] for n in expected)
    if params.get("email"):
        assert f'value="{params["email"]}"' in response.content.decode()  # survives reload


def test_it_answers_htmx_with_the_table_fragment(alice: Client, world: factories.World) -> None:
    order = factories.order(world)
    response = alice.get("/orders/", {"status": "paid"}, headers=HTMX_BODY)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="orders-body"')
    assert "<html" not in html
    assert numbers_in(html) == [order.number]
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"number": "abc"}, "An order number is digits only"),
        ({"status": "bogus"}, "Choose a status from the list."),
        ({"date_from": "yesterday"}, "Use a date like 2026-01-31."),
        ({"q": "a"}, "Type at least 3 characters"),
        ({"after": "not-a-cursor"}, "This page link is not valid"),
        # Found by test_query_fuzz: a 500 on PostgreSQL.
        ({"q": "abc\x00"}, "Remove the invisible NUL character"),
    ],
)
def test_it_explains_bad_filter_values_without_a_500(
    alice: Client, world: factories.World, params: dict[str, str], message: str
) -> None:
    factories.order(world)
    response = alice.get("/orders/", params)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert numbers_in(html) == []
    fragment = alice.get("/orders/", params, headers=HTMX_BODY).content.decode()
    assert message in fragment


def test_it_marks_the_bad_field_next_to_it(alice: Client, world: factories.World) -> None:
    html = alice.get("/orders/", {"number": "x1"}).content.decode()
    assert re.search(r'id="filter-number"[^>]*aria-invalid="true"', html)
    fragment = alice.get("/orders/", {"number": "x1"}, headers=HTMX_BODY).content.decode()
    assert (
        '<p class="field-error" id="filter-error-number" hx-swap-oob="true">An order number'
        in fragment
    )


def test_it_pages_50_at_a_time(alice: Client, world: factories.World) -> None:
    start = timezone.now() - dt.timedelta(days=2)
    for i in range(101):
        factories.order(world, created_at=start + dt.timedelta(seconds=i))
    first = alice.get("/orders/").content.decode()
    assert numbers_in(first) == list(range(101, 51, -1))
    assert 'hx-get="/orders/count/' in first
    assert "101 orders" in alice.get("/orders/count/").content.decode()
    assert "Newer" not in first
    older = re.search(r'href="(/orders/\?after=[^"]+)"', first)
    assert older is not None
    second = alice.get(older.group(1).replace("&amp;", "&")).content.decode()
    assert numbers_in(second) == list(range(51, 1, -1))
    third_url = re.search(r'href="(/orders/\?after=[^"]+)"', second)
    assert third_url is not None
    third = alice.get(third_url.group(1).replace("&amp;", "&")).content.decode()
    assert numbers_in(third) == [1]
    assert "Older" not in third
    newer = re.search(r'href="(/orders/\?before=[^"]+)"', third)
    assert newer is not None
    back = alice.get(newer.group(1).replace("&amp;", "&")).content.decode()
    assert numbers_in(back) == list(range(51, 1, -1))


def test_it_keeps_filters_while_paging(alice: Client, world: factories.World) -> None:
    for _ in range(51):
        factories.order(world, status=OrderStatus.REFUNDED)
    factories.order(world)
    html = alice.get("/orders/", {"status": "refunded"}).content.decode()
    older = re.search(r'href="(/orders/\?[^"]*after=[^"]+)"', html)
    assert older is not None
    assert "status=refunded" in older.group(1)
    assert len(numbers_in(alice.get(older.group(1).replace("&amp;", "&")).content.decode())) == 1


def test_it_labels_a_count_that_reached_its_cap_from_the_cap(
    alice: Client, world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderdesk.orders import queries

    monkeypatch.setattr(queries.count_capped, "__defaults__", (3,))
    old = timezone.now() - dt.timedelta(hours=2)
    for _ in range(4):
        factories.order(world, created_at=old, action_health=ActionHealth.FAILED)
    html = alice.get("/orders/").content.decode()
    assert "4 orders" in html  # one page: counted on it
    assert "3+ orders" in alice.get("/orders/count/").content.decode()
    # The attention counters count with the same cap.
    assert re.search(r'id="tab-attention-count">3\+<', html)
    assert re.search(r'id="nav-attention-count"[^>]*>3\+<', html)


def test_it_writes_a_capped_count_with_a_plus_and_thousands_separators() -> None:
    from orderdesk.web.presenters import count_label

    assert count_label(10_000, True) == "10,000+"
    assert count_label(9_999, False) == "9999"


def test_it_shows_the_requires_attention_tab_and_counters(
    alice: Client, world: factories.World
) -> None:
    old = timezone.now() - dt.timedelta(hours=2)
    failing = factories.order(world, created_at=old, action_health=ActionHealth.FAILED)
    factories.order(world, created_at=old, action_health=ActionHealth.SUCCEEDED)
    html = alice.get("/orders/", {"tab": "attention"}).content.decode()
    assert numbers_in(html) == [failing.number]
    assert re.search(r'id="tab-attention-count">1<', html)
    assert re.search(r'id="nav-attention-count"[^>]*>1<', html)
    all_orders = alice.get("/orders/").content.decode()
    assert len(numbers_in(all_orders)) == 2


def test_it_shows_empty_states(alice: Client, world: factories.World) -> None:
    assert "No orders yet" in alice.get("/orders/").content.decode()
    assert "Nothing requires attention" in alice.get("/orders/?tab=attention").content.decode()
    assert "No orders match these filters" in alice.get("/orders/?status=paid").content.decode()


def test_it_shows_only_the_current_checkouts_orders(client: Client, world: factories.World) -> None:
    factories.order(world)
    client.force_login(world.charlie)
    html = client.get("/orders/").content.decode()
    assert numbers_in(html) == []
    assert "Other checkout" in html


def test_a_member_without_checkouts_sees_an_empty_state(
    client: Client, world: factories.World
) -> None:
    loner = factories.user("loner@example.com")
    client.force_login(loner)
    response = client.get("/orders/")
    assert response.status_code == 200
    assert "No checkout yet" in response.content.decode()


def test_it_counts_exactly_below_the_cap(alice: Client, world: factories.World) -> None:
    for _ in range(3):
        factories.order(world)
    factories.order(world, status=OrderStatus.REFUNDED)
    assert "4 orders" in alice.get("/orders/count/").content.decode()
    assert "1 order matches the filters" in " ".join(
        alice.get("/orders/count/?status=refunded").content.decode().split()
    )
    bad = alice.get("/orders/count/?number=x")
    assert bad.status_code == 200
    assert re.sub(r"<[^>]+>|\s", "", bad.content.decode()) == ""


def test_it_runs_a_constant_number_of_queries(
    alice: Client, world: factories.World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    factories.order(world, add_ons=(world.bump,))
    alice.get("/orders/")  # warm the session
    # session, user, checkout access, links for filter hints, saved views, attention count,
    # page, lines, payment attempts (the second factor's gate reads the user row). One page of
    # results is counted on the page itself.
    with django_assert_num_queries(9):
        alice.get("/orders/")
    for _ in range(60):
        factories.order(world, add_ons=(world.bump, world.upsell))
    # Free text of plain words first reads the edge of the newest orders' window
    # (workflows.table); fewer orders than the window: the page as before. The first search
    # of a process reads the column's statistics (orders.text_statistics), kept for minutes.
    alice.get("/orders/?q=example")
    with django_assert_num_queries(10):
        alice.get("/orders/?tag=ads&q=example")
    with django_assert_num_queries(8):
        alice.get("/orders/?status=paid", headers=HTMX_BODY)
    # The count of more than one page: session, user, access, count (the second factor's gate
    # reads the user row).
    with django_assert_num_queries(4):
        alice.get("/orders/count/?status=paid")


def test_a_link_naming_its_checkout_switches_to_it(client: Client, world: factories.World) -> None:
    second, _key = factories.checkout(world.org, "Second shop")
    CheckoutMembership.objects.create(checkout=second, user=world.sam, role=CheckoutRole.VIEWER)
    order = factories.order(world)
    client.force_login(world.sam)
    assert numbers_in(client.get("/orders/").content.decode()) == [order.number]

    # An alert email's link to a failure group in the second shop.
    response = client.get(f"/orders/?checkout={second.pk}&tab=attention&group=dispute")

    assert response.status_code == 302
    assert response["Location"] == "/orders/?tab=attention&group=dispute"
    assert numbers_in(client.get("/orders/").content.decode()) == []
    assert client.get(f"/orders/?checkout={world.checkout.pk}")["Location"] == "/orders/"
    assert numbers_in(client.get("/orders/").content.decode()) == [order.number]
    # Another organization's checkout, or no checkout at all: not found, nothing switched.
    for raw in (str(world.other_checkout.pk), "x", "\u00b2", "9" * 40):
        assert client.get("/orders/", {"checkout": raw}).status_code == 404
    assert numbers_in(client.get("/orders/").content.decode()) == [order.number]


def test_it_switches_checkouts(client: Client, world: factories.World) -> None:
    second, _key = factories.checkout(world.org, "Second shop")
    CheckoutMembership.objects.create(checkout=second, user=world.sam, role=CheckoutRole.VIEWER)
    factories.order(world)
    client.force_login(world.sam)
    first_page = client.get("/orders/").content.decode()
    assert 'id="checkout-select"' in first_page
    assert len(numbers_in(first_page)) == 1
    response = client.post("/checkout/", {"checkout": second.pk})
    assert response.status_code == 302
    assert numbers_in(client.get("/orders/").content.decode()) == []
    assert client.post("/checkout/", {"checkout": world.other_checkout.pk}).status_code == 404
    assert client.post("/checkout/", {"checkout": "x"}).status_code == 400
    # A superscript digit passed isdigit() and failed int(): it was a 500.
    assert client.post("/checkout/", {"checkout": "\u00b2"}).status_code == 400


def test_the_source_and_tag_boxes_suggest_the_checkouts_links(
    alice: Client, world: factories.World
) -> None:
    CheckoutLink.objects.create(
        checkout=world.checkout,
        offer=world.offer,
        name="Newsletter",
        slug="news",
        source="Email",
        tags=["ads", "launch"],
    )
    CheckoutLink.objects.create(
        checkout=world.other_checkout,
        offer=Offer.objects.create(checkout=world.other_checkout, name="Other", currencies=["EUR"]),
        name="Elsewhere",
        slug="else",
        source="Secret",
        tags=["hidden"],
    )
    page = alice.get("/orders/").content.decode()
    sources = re.search(r'<datalist id="source-options">(.*?)</datalist>', page, re.S)
    tags = re.search(r'<datalist id="tag-options">(.*?)</datalist>', page, re.S)
    assert sources
    assert tags
    assert re.findall(r'value="([^"]*)"', sources.group(1)) == ["Email", "Meta"]
    assert re.findall(r'value="([^"]*)"', tags.group(1)) == ["ads", "black-friday", "launch"]


def test_the_status_and_reason_boxes_keep_what_the_query_chose(alice: Client) -> None:
    page = alice.get("/orders/?status=paid&reason=dispute").content.decode()
    # (The language menu's "Browser's language", value "", is selected too.)
    chosen = re.findall(r'<option value="([^"]+)" selected>', page)
    assert chosen == ["paid", "dispute"]
    assert '<option value="refunded">Refunded</option>' in page
    assert '<option value="actions">Actions not finished</option>' in page
