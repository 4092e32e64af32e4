"""A forgotten password is reset by email with Django's own views, rate-limited per email and
per address (issue 18, finding 8)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from orderdesk.organizations.models import PasswordResetRequest, User
from orderdesk.testing.factories import PASSWORD, World

OFFICE = "203.0.113.7"


def ask(client: Client, email: str, address: str = OFFICE) -> int:
    response = client.post("/password-reset/", {"email": email}, REMOTE_ADDR=address)
    return response.status_code


def link_in(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://\S+/password-reset/\S+/", str(message.body))
    assert found, message.body
    return found.group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def test_the_login_page_links_to_the_reset(client: Client, db: None) -> None:
    html = client.get("/login/").content.decode()

    assert 'href="/password-reset/"' in html


def test_it_resets_a_forgotten_password_by_email(
    client: Client, world: World, settings: Settings
) -> None:
    settings.SITE_URL = "https://orders.example.com"

    response = client.post("/password-reset/", {"email": "alice@example.com"}, follow=True)

    assert "Check your email" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your Orderdesk password"
    link = link_in(message)
    assert link.startswith("https://orders.example.com/password-reset/")
    form = client.get(path_of(link), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.request["PATH_INFO"],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
        follow=True,
    )
    assert "Your password is changed" in done.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.check_password("a brand new passphrase")
    assert client.get(form.request["PATH_INFO"]).context["validlink"] is False


def test_an_unknown_email_gets_the_same_answer_and_no_email(client: Client, world: World) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_link_expires_after_an_hour(client: Client, world: World) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client, "alice@example.com")
    link = link_in(mail.outbox[0])

    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        response = client.get(path_of(link), follow=True)

    assert "This link no longer works" in response.content.decode()


def test_three_requests_an_hour_per_email(client: Client, world: World) -> None:
    answers = [ask(client, "alice@example.com", address=f"198.51.100.{n}") for n in range(4)]

    assert answers == [302, 302, 302, 429]
    assert len(mail.outbox) == 3


def test_ten_requests_an_hour_per_address(client: Client, world: World) -> None:
    answers = [ask(client, f"person{n}@example.com") for n in range(11)]

    assert answers == [302] * 10 + [429]
    assert ask(client, "alice@example.com", address="198.51.100.1") == 302


def test_the_limit_says_what_happened(client: Client, world: World) -> None:
    for _ in range(3):
        ask(client, "alice@example.com")

    response = client.post("/password-reset/", {"email": "ALICE@example.com"}, REMOTE_ADDR=OFFICE)

    assert response.status_code == 429
    assert "Too many password reset emails" in response.content.decode()


def test_the_limits_lift_after_an_hour_and_old_requests_are_forgotten(
    client: Client, world: World
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            ask(client, "alice@example.com")
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert ask(client, "alice@example.com") == 302

    assert PasswordResetRequest.objects.count() == 1
    assert not PasswordResetRequest.objects.filter(email_digest__contains="alice").exists()


def test_a_reset_lifts_a_lockout_others_caused(client: Client, world: World) -> None:
    for n in range(5):
        client.post("/login/", {"username": "alice@example.com", "password": f"x{n}"})
    ask(client, "alice@example.com", address="127.0.0.1")
    form = client.get(path_of(link_in(mail.outbox[0])), follow=True)
    client.post(
        form.request["PATH_INFO"],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )

    response = client.post(
        "/login/", {"username": "alice@example.com", "password": "a brand new passphrase"}
    )

    assert response.status_code == 302


@pytest.mark.parametrize("email", ["", "not-an-email", "a" * 300 + "@example.com", "x\x00@e.com"])
def test_bad_input_is_a_form_error_not_a_500(client: Client, db: None, email: str) -> None:
    response = client.post("/password-reset/", {"email": email})

    assert response.status_code == 200
    assert mail.outbox == []


def test_the_password_still_works_until_changed(client: Client, world: World) -> None:
    ask(client, "alice@example.com")

    assert User.objects.get(email="alice@example.com").check_password(PASSWORD)
