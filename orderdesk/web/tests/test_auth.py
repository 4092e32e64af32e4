from __future__ import annotations

from django.test import Client

from orderdesk.testing import factories


def test_it_logs_in_with_email_and_password(client: Client, world: factories.World) -> None:
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'autocomplete="username"' in page.content.decode()
    response = client.post(
        "/login/", {"username": "alice@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/orders/"


def test_it_refuses_a_wrong_password_with_a_message(client: Client, world: factories.World) -> None:
    response = client.post("/login/", {"username": "alice@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct email address and password" in response.content.decode()


def test_it_logs_out_by_post(client: Client, world: factories.World) -> None:
    client.force_login(world.alice)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/orders/").status_code == 302


def test_the_navigation_shows_the_role(client: Client, world: factories.World) -> None:
    client.force_login(world.bob)
    html = client.get("/orders/").content.decode()
    assert 'class="role-badge"' in html
    assert ">Viewer<" in html
    assert 'aria-current="page"' in html
