"""Search the way people type (issue 14): words in any order, no case, no accents, and a
provider's payment id, through the function every interface filters with."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orderdesk.orders.forms import OrderFilterForm
from orderdesk.orders.models import Order, OrderTag
from orderdesk.payments.models import PaymentAttempt
from orderdesk.testing import factories
from orderdesk.workflows import table
from orderdesk.workflows.search import search_orders

pytestmark = pytest.mark.django_db


def matching(world: factories.World, **params: str) -> list[int]:
    form = OrderFilterForm(params, tz=ZoneInfo("Europe/Helsinki"))
    assert form.messages() == {}
    qs = search_orders(
        Order.objects.filter(checkout=world.checkout),
        form.filters,
        checkout_ids=[world.checkout.pk],
    )
    return sorted(qs.values_list("number", flat=True))


@pytest.fixture
def people(world: factories.World) -> dict[str, Order]:
    return {
        "aino": factories.order(
            world, email="aino.j@example.com", first_name="Aino", last_name="Järvinen"
        ),
        "matti": factories.order(
            world, email="matti@koulu.fi", first_name="Matti", last_name="Järvinen"
        ),
        "ella": factories.order(
            world, email="ella@example.com", first_name="Élla", last_name="Aino-Mäkelä"
        ),
        "li": factories.order(world, email="wei@example.cn", first_name="Wei", last_name="Li"),
    }


def test_a_full_name_finds_its_orders_in_either_order(
    world: factories.World, people: dict[str, Order]
) -> None:
    aino = people["aino"].number

    assert matching(world, q="Aino Järvinen") == [aino]
    assert matching(world, q="järvinen aino") == [aino]
    assert matching(world, q="  AINO   JARVINEN ") == [aino]


def test_names_are_found_without_accents_and_case(
    world: factories.World, people: dict[str, Order]
) -> None:
    assert matching(world, q="jarvinen") == sorted([people["aino"].number, people["matti"].number])
    assert matching(world, q="ella makela") == [people["ella"].number]
    assert matching(world, first_name="ella") == [people["ella"].number]
    assert matching(world, last_name="JARVINEN") == sorted(
        [people["aino"].number, people["matti"].number]
    )


def test_every_word_must_match_a_number_email_or_name(
    world: factories.World, people: dict[str, Order]
) -> None:
    matti = people["matti"]

    assert matching(world, q="matti koulu.fi") == [matti.number]
    assert matching(world, q=f"järvinen {matti.number}") == [matti.number]
    assert matching(world, q="matti@koulu.fi") == [matti.number]
    assert matching(world, q="MATTI@KOULU.FI järvinen") == [matti.number]
    assert matching(world, q="matti nobody") == []
    # A short word narrows a search that another word leads.
    assert matching(world, q="wei li") == [people["li"].number]


def test_a_number_alone_finds_that_order_only(
    world: factories.World, people: dict[str, Order]
) -> None:
    aino = people["aino"]

    assert matching(world, q=str(aino.number)) == [aino.number]
    assert matching(world, q=f"#{aino.number}") == [aino.number]


def test_source_and_tag_ignore_case_and_accents(world: factories.World) -> None:
    tiktok = factories.order(world)
    Order.objects.filter(pk=tiktok.pk).update(source="TikTok")
    OrderTag.objects.create(
        order=tiktok, checkout=world.checkout, tag="Kevät-ale", created_at=tiktok.created_at
    )
    meta = factories.order(world)

    assert matching(world, source="tiktok") == [tiktok.number]
    assert matching(world, source="TIKTOK") == [tiktok.number]
    assert matching(world, source="meta") == [meta.number]
    assert matching(world, tag="kevat-ale") == [tiktok.number]
    assert matching(world, tag="BLACK-FRIDAY") == sorted([tiktok.number, meta.number])


def test_a_provider_reference_finds_its_order(world: factories.World) -> None:
    stripe = factories.order(world)
    factories.order(world)
    attempt = PaymentAttempt.objects.get(order=stripe)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        provider_reference="pi_3QxYz12345", charge_reference="ch_3QxYz67890"
    )
    paytrail = factories.order(world, provider="paytrail")
    PaymentAttempt.objects.filter(order=paytrail).update(
        provider_reference="0a5d2c1e-4b7f-11ef-9d3b-2f7e1c0f3a11"
    )

    assert matching(world, q="pi_3QxYz12345") == [stripe.number]
    assert matching(world, q="ch_3QxYz67890") == [stripe.number]
    assert matching(world, q="0a5d2c1e-4b7f-11ef-9d3b-2f7e1c0f3a11") == [paytrail.number]
    assert matching(world, q="ch_unknown12345") == []


def test_a_reference_of_another_checkout_finds_nothing(world: factories.World) -> None:
    order = factories.order(world)
    PaymentAttempt.objects.filter(order=order).update(charge_reference="ch_secret12345")
    other = Order.objects.filter(checkout=world.other_checkout)

    found = search_orders(
        other,
        OrderFilterForm({"q": "ch_secret12345"}, tz=ZoneInfo("UTC")).filters,
        checkout_ids=[world.other_checkout.pk],
    )

    assert list(found) == []


@pytest.mark.parametrize("q", ["ab", "a b", "ab cd ef"])
def test_words_too_short_to_lead_are_refused(q: str) -> None:
    form = OrderFilterForm({"q": q}, tz=ZoneInfo("UTC"))

    assert form.messages() == {"q": "Type at least 3 characters, or an order number."}


def test_percent_and_underscore_are_literal(world: factories.World) -> None:
    factories.order(world, email="anna@example.com", first_name="Anna")

    assert matching(world, q="an%a") == []
    assert matching(world, q="a_na") == []


@pytest.mark.parametrize("windows", [(2,), (4,), (5,), (1000,), (1, 4), (2, 5), (3, 1000)])
def test_the_table_page_is_the_same_through_the_window_or_the_index(
    world: factories.World, monkeypatch: pytest.MonkeyPatch, windows: tuple[int, ...]
) -> None:
    monkeypatch.setattr(table, "SEARCH_WINDOWS", windows)
    # Every window walked, whatever statistics the test database happens to hold.
    monkeypatch.setattr(table, "text_share", lambda words, using: None)
    start = timezone.now() - dt.timedelta(days=1)
    names = ["Aino", "Matti", "Aino", "Aino", "Ella", "Aino", "Aino", "Ella"]
    made = [
        factories.order(
            world,
            first_name=name,
            last_name="Järvinen",
            created_at=start + dt.timedelta(minutes=i),
        )
        for i, name in enumerate(names)
    ]
    ainos = [o.number for o in reversed(made) if o.first_name == "Aino"]
    filters = OrderFilterForm({"q": "aino jarvinen"}, tz=ZoneInfo("UTC")).filters
    scope = Order.objects.filter(checkout=world.checkout)

    first = table.table_page(scope, filters, checkout_ids=[world.checkout.pk], size=2)
    second = table.table_page(
        scope,
        filters,
        checkout_ids=[world.checkout.pk],
        cursors=table.PageCursors(after=first.older),
        size=2,
    )
    third = table.table_page(
        scope,
        filters,
        checkout_ids=[world.checkout.pk],
        cursors=table.PageCursors(after=second.older),
        size=2,
    )

    pages = [[row.order.number for row in page.rows] for page in (first, second, third)]
    assert pages == [ainos[:2], ainos[2:4], ainos[4:]]
    assert third.older is None


def test_no_checkout_has_no_window() -> None:
    assert table._window_edge([], None, 5) is None


@pytest.mark.parametrize(
    ("share", "windows"),
    [
        (None, (5_000, 20_000)),  # no statistics: every window, shortest first
        (0.0, ()),  # a word no sampled order holds: the trigram index at once
        (0.002, ()),  # 40 expected in the longest window: less than a page
        (0.005, (20_000,)),  # 25 expected in the shortest, 100 in the longest
        (0.05, (5_000, 20_000)),  # two pages expected in the shortest
    ],
)
def test_the_statistics_choose_the_windows_worth_walking(
    monkeypatch: pytest.MonkeyPatch, share: float | None, windows: tuple[int, ...]
) -> None:
    monkeypatch.setattr(table, "text_share", lambda words, using: share)
    assert table._windows_worth_walking("aino jarvinen", 50) == windows


def test_a_rare_search_asks_the_index_without_walking_a_window(
    world: factories.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = factories.order(world, first_name="Aino", last_name="Järvinen")
    factories.order(world, first_name="Matti", last_name="Järvinen")
    monkeypatch.setattr(table, "text_share", lambda words, using: 0.0)
    filters = OrderFilterForm({"q": "aino jarvinen"}, tz=ZoneInfo("UTC")).filters
    with CaptureQueriesContext(connection) as captured:
        page = table.table_page(
            Order.objects.filter(checkout=world.checkout),
            filters,
            checkout_ids=[world.checkout.pk],
        )
    assert [row.order.number for row in page.rows] == [made.number]
    # The window's edge is an OFFSET over the newest orders; the index needs none.
    assert not any("OFFSET" in query["sql"] for query in captured.captured_queries)
