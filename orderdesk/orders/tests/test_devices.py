from __future__ import annotations

import pytest

from orderdesk.orders.devices import device_type
from orderdesk.orders.models import DeviceType

AGENTS = {
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": DeviceType.MOBILE,
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36": DeviceType.MOBILE,
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1": DeviceType.TABLET,
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36": DeviceType.TABLET,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36": DeviceType.DESKTOP,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15": DeviceType.DESKTOP,
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0": DeviceType.DESKTOP,
    "Googlebot/2.1 (+http://www.google.com/bot.html)": DeviceType.OTHER,
    "curl/8.0": DeviceType.OTHER,
    "": DeviceType.OTHER,
}


@pytest.mark.parametrize(("user_agent", "expected"), AGENTS.items())
def test_it_tells_the_device_type_from_the_user_agent(
    user_agent: str, expected: DeviceType
) -> None:
    assert device_type(user_agent) == expected
