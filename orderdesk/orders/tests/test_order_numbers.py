"""Order numbers under concurrency (issue 16): one sequence per organization, no shared lock.

Only PostgreSQL runs checkouts truly in parallel; SQLite lets one writer in at a time and
numbers with the highest number plus one, tested at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import defaultdict
from typing import Any

import pytest
from django.db import connection, connections

from orderdesk.actions.services import snapshot_new_order
from orderdesk.catalog.models import CheckoutLink, Offer, OfferItem
from orderdesk.orders import numbers
from orderdesk.orders.models import Order
from orderdesk.organizations.models import Checkout, Organization
from orderdesk.testing import factories
from orderdesk.workflows import checkout

CLIENTS = 16
OPENS_PER_CLIENT = 10
FAIL_EVERY = 7  # every 7th open rolls back after taking its number


class Injected(Exception):
    """The failure an open is made to end in, after its INSERT took a number."""


def second_shop() -> tuple[Organization, Checkout]:
    org = factories.organization("Second merchant")
    shop, _ = factories.checkout(org)
    offer = Offer.objects.create(checkout=shop, name="Yoga", currencies=["EUR"])
    OfferItem.objects.create(offer=offer, product=factories.product(shop, "Yoga", {"EUR": 500}))
    CheckoutLink.objects.create(checkout=shop, offer=offer, name="Y", slug="yoga")
    return org, shop


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_get_unique_increasing_numbers_with_gaps_only_for_rollbacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    w = factories.world()
    other_org, other_shop = second_shop()
    calls = itertools.count(1)
    rolled_back: dict[int, list[int]] = defaultdict(list)
    lock = threading.Lock()
    real_snapshot = snapshot_new_order

    def snapshot_or_fail(order: Order, product_ids: Any) -> None:
        # Runs inside the open's transaction, after the order's INSERT took its number.
        with lock:
            fail = next(calls) % FAIL_EVERY == 0
            if fail:
                rolled_back[order.organization_id].append(order.number)
        if fail:
            raise Injected
        real_snapshot(order, product_ids)

    monkeypatch.setattr(checkout, "snapshot_new_order", snapshot_or_fail)
    start = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []
    seen: dict[int, list[list[int]]] = defaultdict(list)

    def client(index: int) -> None:
        # Half the clients buy from each organization, at the same time.
        shop, slug = (w.checkout, w.link.slug) if index % 2 else (other_shop, "yoga")
        got: list[int] = []
        try:
            start.wait()
            for _ in range(OPENS_PER_CLIENT):
                with contextlib.suppress(Injected):
                    got.append(checkout.open_order(shop, link_slug=slug).number)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            with lock:
                seen[shop.organization_id].append(got)
            connections.close_all()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = CLIENTS // 2 * OPENS_PER_CLIENT
    for org in (w.org, other_org):
        stored = sorted(Order.objects.filter(organization=org).values_list("number", flat=True))
        lost = sorted(rolled_back[org.pk])
        assert lost  # the test made some opens roll back in each organization
        assert len(stored) == len(set(stored)) == total - len(lost)  # no duplicates
        # Every number was handed out once: to a stored order, or to an open that rolled back.
        assert sorted(stored + lost) == list(range(1, total + 1))
        # Each client's orders got increasing numbers, in the order it opened them.
        for got in seen[org.pk]:
            assert got == sorted(got)
            assert len(set(got)) == len(got)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_organization_without_its_sequence_gets_one_on_its_first_open() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite numbers without sequences")
    w = factories.world()
    first = checkout.open_order(w.checkout, link_slug=w.link.slug)
    # As after a restore without sequences, or an organization made with bulk_create.
    numbers.drop_sequence(w.org.pk)

    second = checkout.open_order(w.checkout, link_slug=w.link.slug)

    assert (first.number, second.number) == (1, 2)
    assert checkout.open_order(w.checkout, link_slug=w.link.slug).number == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sequence_made_later_continues_after_the_highest_number() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite numbers without sequences")
    w = factories.world()
    factories.order(w)
    Order.objects.filter(organization=w.org).update(number=41)
    numbers.drop_sequence(w.org.pk)
    numbers.create_sequence(w.org.pk)
    numbers.create_sequence(w.org.pk)  # again: never moves it back or on

    assert checkout.open_order(w.checkout, link_slug=w.link.slug).number == 42


def test_each_organization_counts_its_own_numbers(world: factories.World) -> None:
    other_org, other_shop = second_shop()

    ours = [checkout.open_order(world.checkout, link_slug=world.link.slug) for _ in range(3)]
    theirs = checkout.open_order(other_shop, link_slug="yoga")

    assert [o.number for o in ours] == [1, 2, 3]
    assert theirs.number == 1
    assert other_org.pk != world.org.pk
