"""Failed API token and ingest key guesses are throttled per address, counted in the database
(issue 18, finding 3): 429 with `{detail, code}`, and only for the guessing address."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.testing.factories import World

GUESSER = "203.0.113.66"
NEIGHBOUR = "203.0.113.67"


@pytest.fixture
def token(world: World) -> str:
    _, raw = ApiToken.issue(checkout=world.checkout, name="CRM", role=CheckoutRole.VIEWER)
    return raw


def orders(client: Client, bearer: str, address: str = GUESSER, **headers: str) -> int:
    response = client.get(
        "/api/v1/orders",
        headers={"Authorization": f"Bearer {bearer}", **headers},
        REMOTE_ADDR=address,
    )
    return response.status_code


def test_twenty_wrong_tokens_lock_the_address_out_with_429(
    client: Client, world: World, token: str
) -> None:
    answers = [orders(client, f"od_guess{n}") for n in range(20)]

    assert answers == [401] * 19 + [429]
    response = client.get(
        "/api/v1/orders", headers={"Authorization": f"Bearer {token}"}, REMOTE_ADDR=GUESSER
    )
    assert response.status_code == 429
    assert response.json() == {
        "detail": "Too many unknown keys or tokens from your address: try again in 15 minutes.",
        "code": "too_many_attempts",
    }
    assert response["Retry-After"] == "900"


def test_another_address_still_gets_in(client: Client, world: World, token: str) -> None:
    for n in range(20):
        orders(client, f"od_guess{n}")

    assert orders(client, token, address=NEIGHBOUR) == 200


def test_ingest_key_guesses_count_too(client: Client, world: World, token: str) -> None:
    for n in range(20):
        client.get(
            "/api/v1/checkout/orders/1",
            headers={"Authorization": f"Bearer ck_guess{n}"},
            REMOTE_ADDR=GUESSER,
        )

    assert orders(client, token) == 429


def test_the_lock_lifts_after_the_cool_off(client: Client, world: World, token: str) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for n in range(20):
            orders(client, f"od_guess{n}")
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert orders(client, token) == 200


def test_right_tokens_are_never_counted(client: Client, world: World, token: str) -> None:
    assert {orders(client, token) for _ in range(25)} == {200}


def test_behind_a_proxy_each_client_address_counts_alone(
    client: Client, world: World, token: str, settings: Settings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for n in range(20):
        # The guesser's own claim (left) is ignored; the proxy appended the real address.
        orders(client, f"od_guess{n}", proxy, **{"X-Forwarded-For": f"{NEIGHBOUR}, {GUESSER}"})

    assert orders(client, token, proxy, **{"X-Forwarded-For": GUESSER}) == 429
    assert orders(client, token, proxy, **{"X-Forwarded-For": NEIGHBOUR}) == 200


def test_a_locked_out_address_is_refused_with_a_right_ingest_key_too(
    client: Client, world: World
) -> None:
    """The key's lookup reads the address's guesses in the same query (issue 16): a right key
    from a locked-out address is still a 429, until the lock lifts."""

    def open_order() -> int:
        response = client.post(
            "/api/v1/checkout/orders",
            {"link": world.link.slug},
            content_type="application/json",
            headers={"Authorization": f"Bearer {world.ingest_key}"},
            REMOTE_ADDR=GUESSER,
        )
        return response.status_code

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert open_order() == 201
        for n in range(20):
            orders(client, f"od_guess{n}")
        assert open_order() == 429
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert open_order() == 201
