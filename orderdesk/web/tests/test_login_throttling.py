"""Login throttling (issue 18, finding 3): wrong passwords lock a user name at one address,
with a clear message, logged, lifted by time or by an operator; colleagues at the same address
still log in."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from orderdesk.testing.factories import PASSWORD, World

OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


def log_in(client: Client, email: str, password: str, address: str = OFFICE) -> int:
    response = client.post(
        "/login/", {"username": email, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code


def signed_in(client: Client) -> bool:
    return client.get("/orders/").status_code == 200


def guess(client: Client, times: int, email: str = "alice@example.com") -> list[int]:
    return [log_in(client, email, f"wrong-{n}") for n in range(times)]


def test_twenty_wrong_passwords_lock_out_even_the_right_one(client: Client, world: World) -> None:
    answers = guess(client, 20)

    assert answers[:4] == [200] * 4
    assert answers[4:] == [429] * 16
    assert log_in(client, "alice@example.com", PASSWORD) == 429
    assert not signed_in(client)


def test_the_lockout_says_what_happened_and_what_to_do(client: Client, world: World) -> None:
    guess(client, 5)

    response = client.post(
        "/login/", {"username": "alice@example.com", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )

    html = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed attempts to log in as this email address" in html
    assert "Try again in 15 minutes" in html
    assert 'value="alice@example.com"' in html


def test_a_colleague_at_the_same_address_still_logs_in(client: Client, world: World) -> None:
    guess(client, 20)

    assert log_in(client, "sam@example.com", PASSWORD) == 302
    assert signed_in(client)


def test_the_same_person_from_another_address_still_logs_in(client: Client, world: World) -> None:
    guess(client, 20)

    assert log_in(client, "alice@example.com", PASSWORD, address=ELSEWHERE) == 302


def test_the_lock_lifts_after_the_cool_off(client: Client, world: World) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        guess(client, 5)
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert log_in(client, "alice@example.com", PASSWORD) == 429
    # A failure during the lock starts it again: the right password at 14 minutes counted.
    with time_machine.travel(start + dt.timedelta(minutes=14 + 16), tick=False):
        assert log_in(client, "alice@example.com", PASSWORD) == 302


@pytest.mark.parametrize(
    "command",
    [("axes_reset_username", "alice@example.com"), ("axes_reset_ip", OFFICE), ("axes_reset",)],
)
def test_an_operator_lifts_the_lock(client: Client, world: World, command: tuple[str]) -> None:
    guess(client, 5)

    call_command(*command)

    assert log_in(client, "alice@example.com", PASSWORD) == 302


def test_a_successful_login_clears_the_count(client: Client, world: World) -> None:
    guess(client, 4)
    assert log_in(client, "alice@example.com", PASSWORD) == 302
    client.post("/logout/")

    assert guess(client, 4) == [200] * 4


def test_the_lockout_is_logged_with_the_user_name_and_address(
    client: Client, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="orderdesk.security"):
        guess(client, 5)

    assert any(
        "alice@example.com" in record.getMessage() and OFFICE in record.getMessage()
        for record in caplog.records
        if record.name == "orderdesk.security"
    )


def test_the_admin_login_is_throttled_too(client: Client, world: World) -> None:
    for n in range(5):
        response = client.post(
            "/admin/login/",
            {"username": "alice@example.com", "password": f"wrong-{n}"},
            REMOTE_ADDR=OFFICE,
        )

    assert response.status_code == 429
