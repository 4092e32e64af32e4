"""A second factor for staff: a TOTP authenticator app (django-otp), enrolled by confirming one
code, asked for at every login afterwards.

Whether a member must have one is a rule of their organizations (`Organization.
require_two_factor` for everyone who may act; `roles.MemberAccess.second_factor_required`).
An operator removes a lost device in the admin (TOTP devices); the member then enrols again.
"""

from __future__ import annotations

import datetime as dt
from base64 import b32encode
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from orderdesk.organizations.models import User

DEVICE_NAME = "Authenticator app"


@dataclass(frozen=True)
class CodeCheck:
    """The device a code was accepted by, or how long to wait after too many wrong codes."""

    device: TOTPDevice | None
    retry_in: dt.timedelta | None = None


def sync_enrolment(sender: type[TOTPDevice], instance: TOTPDevice, **kwargs: object) -> None:
    """Copy "has a confirmed device" onto the user row whenever a device is saved or deleted,
    whichever way (enrolment, an operator in the admin, a shell)."""
    User.objects.filter(pk=instance.user_id).update(
        has_authenticator=Exists(TOTPDevice.objects.filter(user_id=OuterRef("pk"), confirmed=True))
    )


def pending_authenticator(user: User) -> TOTPDevice:
    """The unconfirmed device whose key the enrolment page shows; the same one on every visit,
    so the code of an app that scanned it earlier still confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for apps that cannot scan the QR code."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_authenticator(device: TOTPDevice, code: str) -> CodeCheck:
    """Confirm the pending `device` with a code its app shows; other pending ones go."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        check = _check(device, code)
        if check.device is not None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
    return check


def verify_code(user: User, code: str) -> CodeCheck:
    """Check a login's code against the user's confirmed devices (locked, so one code is
    accepted once even by two requests at the same time)."""
    retry_in = None
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
            check = _check(device, code)
            if check.device is not None:
                return check
            retry_in = check.retry_in or retry_in
    return CodeCheck(device=None, retry_in=retry_in)


def _check(device: TOTPDevice, code: str) -> CodeCheck:
    allowed, details = device.verify_is_allowed()
    if not allowed:
        # django-otp doubles the wait after each wrong code (1 s, 2 s, 4 s, …).
        return CodeCheck(device=None, retry_in=details["locked_until"] - timezone.now())
    return CodeCheck(device=device if device.verify_token(code) else None)
