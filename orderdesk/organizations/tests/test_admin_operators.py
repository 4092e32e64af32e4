"""The Django admin spans every organization, so only platform operators use it (issue 18,
finding 4): an organization owner is refused even with Django's staff or superuser flags, and
an operator sees each row's organization."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from orderdesk.organizations.models import User
from orderdesk.payments.models import ProviderAccount
from orderdesk.testing import factories
from orderdesk.testing.factories import PASSWORD, World


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("ops@orderdesk.example", PASSWORD)


@pytest.fixture
def two_merchants(world: World) -> World:
    factories.order(world, email="ours@example.com")
    theirs = dataclasses.replace(world, org=world.charlie.memberships.get().organization)
    theirs = dataclasses.replace(theirs, checkout=world.other_checkout)
    factories.order(theirs, email="theirs@example.com")
    ProviderAccount.objects.create(checkout=world.checkout, provider="stripe")
    ProviderAccount.objects.create(checkout=world.other_checkout, provider="stripe")
    return world


@pytest.mark.parametrize(
    "flags", [{}, {"is_staff": True}, {"is_staff": True, "is_superuser": True}]
)
def test_an_organization_owner_never_reaches_the_admin(
    client: Client, two_merchants: World, flags: dict[str, bool]
) -> None:
    User.objects.filter(pk=two_merchants.alice.pk).update(**flags)
    client.force_login(two_merchants.alice)

    for path in ("/admin/", "/admin/orders/order/", "/admin/payments/provideraccount/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    assert b"theirs@example.com" not in client.get("/admin/orders/order/", follow=True).content


def test_the_admin_login_refuses_an_owner_with_a_clear_message(
    client: Client, two_merchants: World
) -> None:
    User.objects.filter(pk=two_merchants.alice.pk).update(is_staff=True, is_superuser=True)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "alice@example.com", "password": PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 200
    assert "platform operator account" in response.content.decode()


def test_an_operator_sees_every_order_with_its_organization(
    client: Client, two_merchants: World, operator: User
) -> None:
    client.force_login(operator)

    html = client.get("/admin/orders/order/").content.decode()

    assert "ours@example.com" in html
    assert "theirs@example.com" in html
    assert "Acme Courses" in html
    assert "Other Merchant" in html
    assert f"organization__id__exact={two_merchants.org.pk}" in html
    only_ours = client.get(f"/admin/orders/order/?organization__id__exact={two_merchants.org.pk}")
    assert "theirs@example.com" not in only_ours.content.decode()


def test_provider_accounts_name_their_organization(
    client: Client, two_merchants: World, operator: User
) -> None:
    client.force_login(operator)

    html = client.get("/admin/payments/provideraccount/").content.decode()

    assert "Acme Courses" in html
    assert "Other Merchant" in html
    assert "checkout__organization__id__exact" in html


def test_an_operator_manages_people_and_the_two_factor_rule(
    client: Client, two_merchants: World, operator: User
) -> None:
    client.force_login(operator)

    users = client.get("/admin/organizations/user/").content.decode()
    change = client.get(f"/admin/organizations/user/{two_merchants.alice.pk}/change/")
    added = client.post(
        "/admin/organizations/user/add/",
        {
            "email": "new@example.com",
            "password1": "a long new password",
            "password2": "a long new password",
        },
    )
    organizations = client.get("/admin/organizations/organization/").content.decode()

    assert "alice@example.com" in users
    assert "Acme Courses" in users
    assert change.status_code == 200
    assert added.status_code == 302
    assert User.objects.filter(email="new@example.com", is_platform_operator=False).exists()
    assert "Require two factor" in organizations


def test_the_admin_works_under_the_csp(
    transactional_db: None, live_server: Any, browser_page: Page
) -> None:
    world = factories.world()
    order = factories.order(world)
    User.objects.create_superuser("ops@orderdesk.example", PASSWORD)
    page = browser_page
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Email address").fill("ops@orderdesk.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#result_list")).to_contain_text("Acme Courses")
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    expect(page.locator("#order_form")).to_be_visible()
    page.goto(f"{live_server.url}/admin/organizations/user/add/")
    expect(page.locator("#user_form")).to_be_visible()

    assert refused == []
