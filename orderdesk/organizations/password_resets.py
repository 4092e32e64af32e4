"""How often a password reset email may be asked for: per email address and per client
address, counted in the database (there is no shared cache)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction

from orderdesk.organizations.models import PasswordResetRequest

WINDOW = dt.timedelta(hours=1)
PER_EMAIL = 3
PER_ADDRESS = 10


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def may_request_password_reset(*, email: str, address: str | None, now: dt.datetime) -> bool:
    """Record a request for `email` from `address` and return True, or return False when
    either asked for PER_EMAIL / PER_ADDRESS resets within the last WINDOW.

    Counts every email typed, whether an account has it or not, so the answer tells nobody
    which addresses have accounts.
    """
    since = now - WINDOW
    digest = email_digest(email)
    with transaction.atomic():
        PasswordResetRequest.objects.filter(requested_at__lt=since).delete()
        recent = PasswordResetRequest.objects.filter(requested_at__gte=since)
        if recent.filter(email_digest=digest).count() >= PER_EMAIL:
            return False
        if address and recent.filter(address=address).count() >= PER_ADDRESS:
            return False
        PasswordResetRequest.objects.create(
            email_digest=digest, address=address or None, requested_at=now
        )
    return True
