"""The kind of device a checkout was opened on, from its user agent (reports' device mix)."""

from __future__ import annotations

from ua_parser import parse_device, parse_os

from orderdesk.orders.models import DeviceType

MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS"})
DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "FreeBSD", "Debian"}
)


def device_type(user_agent: str) -> DeviceType:
    if not user_agent:
        return DeviceType.OTHER
    device = parse_device(user_agent)
    if device is not None and device.family == "Spider":
        return DeviceType.OTHER
    if device is not None and (
        device.family == "iPad"
        or "Tablet" in device.family
        or "Tablet" in (device.brand or "")
        or "Kindle" in device.family
    ):
        return DeviceType.TABLET
    os = parse_os(user_agent)
    family = os.family if os is not None else ""
    # Android tablets leave "Mobile" out of the user agent; phones always send it.
    if family == "Android" and "Mobile" not in user_agent:
        return DeviceType.TABLET
    if family in MOBILE_OS:
        return DeviceType.MOBILE
    if family in DESKTOP_OS:
        return DeviceType.DESKTOP
    return DeviceType.OTHER
