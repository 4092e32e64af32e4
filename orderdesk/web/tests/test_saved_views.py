"""Saved views on the orders page (issue 15, point 3): save, share, default, roles, tenancy."""

from __future__ import annotations

import pytest
from django.test import Client

from orderdesk.orders.models import DefaultView, OrderStatus, SavedView
from orderdesk.organizations.models import CheckoutMembership, CheckoutRole, User
from orderdesk.testing import factories
from orderdesk.web.tests.test_orders_table import HTMX_BODY, numbers_in


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def sam(client: Client, world: factories.World) -> Client:
    return signed_in(client, world.sam)


def save(client: Client, name: str, query: str, **fields: str) -> SavedView:
    response = client.post("/orders/views/", {"name": name, "query": query, **fields})
    assert response.status_code == 302, response.content.decode()
    view = SavedView.objects.get(name=name)
    assert (
        response["Location"] == f"/orders/?{view.query + '&' if view.query else ''}view={view.pk}"
    )
    return view


def test_a_saved_view_keeps_the_filters_and_opens_as_a_tab(
    sam: Client, world: factories.World
) -> None:
    paid = factories.order(world, email="paid@example.com")
    factories.order(world, email="started@example.com", status=OrderStatus.STARTED)
    view = save(sam, "Paid orders", "status=paid&after=xyz&q=&view=3&tab=all")
    # Only filters are kept: no page cursor, no empty value, no view, no "All" tab.
    assert view.query == "status=paid"
    assert (view.shared, view.owner, view.checkout) == (False, world.sam, world.checkout)

    page = sam.get(f"/orders/?status=paid&view={view.pk}").content.decode()
    assert f'data-view="{view.pk}" aria-current="page"' in page
    assert numbers_in(page) == [paid.number]
    # The same filters by hand: the tab is there, not current.
    other = sam.get("/orders/?status=paid").content.decode()
    assert f'data-view="{view.pk}" aria-current' not in other
    assert "Paid orders" in other
    # `?view=<id>` alone opens the view's filters.
    assert sam.get(f"/orders/?view={view.pk}")["Location"] == f"/orders/?status=paid&view={view.pk}"


def test_changing_the_filters_of_a_view_offers_to_save_them(
    sam: Client, world: factories.World
) -> None:
    view = save(sam, "Paid", "status=paid")
    same = sam.get(f"/orders/?status=paid&view={view.pk}").content.decode()
    assert "view-save-changes" not in same
    changed = sam.get(f"/orders/?status=refunded&view={view.pk}").content.decode()
    assert "view-save-changes" in changed
    response = sam.post(
        f"/orders/views/{view.pk}/", {"name": "Refunded", "query": "status=refunded"}
    )
    assert response.status_code == 302
    view.refresh_from_db()
    assert (view.name, view.query) == ("Refunded", "status=refunded")


def test_the_default_view_opens_orders_without_a_query(sam: Client, world: factories.World) -> None:
    view = save(sam, "Attention", "tab=attention", default="1")
    assert sam.get("/orders/")["Location"] == f"/orders/?tab=attention&view={view.pk}"
    # "All" and "Clear filters" say so in their URL, so they still show every order.
    all_page = sam.get("/orders/?tab=all")
    assert all_page.status_code == 200
    assert 'href="/orders/?tab=all"' in all_page.content.decode()
    # htmx fragments and other queries are left alone.
    assert sam.get("/orders/", headers=HTMX_BODY).status_code == 200
    assert sam.get("/orders/?status=paid").status_code == 200

    sam.post(f"/orders/views/{view.pk}/default/", {"default": ""})
    assert not DefaultView.objects.exists()
    assert sam.get("/orders/").status_code == 200
    sam.post(f"/orders/views/{view.pk}/default/", {"default": "1"})
    assert DefaultView.objects.get().view == view


def test_a_default_is_per_member(client: Client, world: factories.World) -> None:
    shared = save(signed_in(client, world.sam), "Team", "status=paid", shared="1", default="1")
    bob = signed_in(Client(), world.bob)
    assert bob.get("/orders/").status_code == 200
    bob.post(f"/orders/views/{shared.pk}/default/", {"default": "1"})
    assert bob.get("/orders/")["Location"] == f"/orders/?status=paid&view={shared.pk}"
    assert DefaultView.objects.count() == 2


def test_roles_viewers_keep_personal_views_and_share_nothing(
    client: Client, world: factories.World
) -> None:
    bob = signed_in(client, world.bob)
    own = save(bob, "Mine", "status=paid")
    page = bob.get("/orders/").content.decode()
    assert "Share with the checkout" not in page
    assert bob.post("/orders/views/", {"name": "Team", "shared": "1"}).status_code == 403
    assert bob.post(f"/orders/views/{own.pk}/", {"name": "Mine", "shared": "1"}).status_code == 403
    assert not SavedView.objects.filter(shared=True).exists()

    team = save(signed_in(Client(), world.sam), "Team", "tab=attention", shared="1")
    page = bob.get(f"/orders/?tab=attention&view={team.pk}").content.decode()
    assert "Team" in page
    assert "Edit view" not in page
    assert bob.post(f"/orders/views/{team.pk}/", {"name": "Ours"}).status_code == 403
    assert bob.post(f"/orders/views/{team.pk}/delete/").status_code == 403
    team.refresh_from_db()
    assert team.name == "Team"
    # A colleague with customer service changes and deletes the team's view.
    alice = signed_in(Client(), world.alice)
    assert alice.post(f"/orders/views/{team.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=team.pk).exists()


def test_nobody_sees_another_members_or_checkouts_views(
    client: Client, world: factories.World
) -> None:
    personal = save(signed_in(client, world.sam), "Sam's", "status=paid")
    second, _key = factories.checkout(world.org, "Second shop")
    CheckoutMembership.objects.create(
        checkout=second, user=world.sam, role=CheckoutRole.CUSTOMER_SERVICE
    )
    alice = signed_in(Client(), world.alice)
    assert "Sam's" not in alice.get("/orders/").content.decode()
    for url in (
        f"/orders/views/{personal.pk}/",
        f"/orders/views/{personal.pk}/delete/",
        f"/orders/views/{personal.pk}/default/",
    ):
        assert alice.post(url, {"name": "Taken", "default": "1"}).status_code == 404
    charlie = signed_in(Client(), world.charlie)
    assert charlie.post(f"/orders/views/{personal.pk}/delete/").status_code == 404
    # Sam in the second checkout sees none of the first checkout's views.
    sam = signed_in(Client(), world.sam)
    sam.post("/checkout/", {"checkout": second.pk, "next": "/orders/"})
    assert "Sam's" not in sam.get("/orders/").content.decode()
    assert sam.post(f"/orders/views/{personal.pk}/delete/").status_code == 404
    assert SavedView.objects.get().name == "Sam's"


def test_bad_input_is_refused_with_the_form_again(sam: Client, world: factories.World) -> None:
    save(sam, "Paid", "status=paid")
    for data, message in (
        ({"name": "PAID", "query": ""}, "A view with this name exists already."),
        ({"name": "", "query": ""}, "Give the view a name."),
        ({"name": "Dates", "query": "date_from=2026-02-01&date_to=2026-01-01"}, "before the start"),
        ({"name": "Lost", "query": "status=lost"}, "Choose a status from the list."),
        ({"name": "x" * 61, "query": ""}, "at most 60 characters"),
    ):
        response = sam.post("/orders/views/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode()
    assert SavedView.objects.count() == 1
