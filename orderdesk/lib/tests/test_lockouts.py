from __future__ import annotations

import pytest
from django.test import RequestFactory
from pytest_django import Settings

from orderdesk.lib.lockouts import client_address


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.1", "10.0.0.2"),  # no proxy trusted: the header is the client's word
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "203.0.113.9, 198.51.100.1", "198.51.100.1"),  # the left entry was made up
        (2, "203.0.113.9, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (1, "", "10.0.0.2"),
        (2, "198.51.100.1", "10.0.0.2"),  # fewer entries than proxies: not through them
        (1, "not-an-address", "10.0.0.2"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_client_address_is_the_one_the_outermost_trusted_proxy_saw(
    settings: Settings, proxies: int, forwarded: str, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": forwarded}
    )

    assert client_address(request) == address


def test_an_address_that_is_no_ip_address_is_none(settings: Settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_address(RequestFactory().get("/", REMOTE_ADDR="unix:/run/gunicorn")) is None
