"""Deployment checks of our own, run by `manage.py check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

DEVELOPMENT_KEY_PREFIX = "django-insecure-"


@register(Tags.security, deploy=True)
def secret_key_is_set(**kwargs: Any) -> list[CheckMessage]:
    """Django only warns about a weak key (security.W009); a deployment on the development
    key, whose value is public, signs sessions and password reset links anyone can forge."""
    if settings.SECRET_KEY.startswith(DEVELOPMENT_KEY_PREFIX):
        return [
            Error(
                "SECRET_KEY is not set: the public development key is in use.",
                hint="Set SECRET_KEY to a long random value (and DEBUG off).",
                id="orderdesk.E001",
            )
        ]
    return []


# Mail backends that never deliver: fine for development, silent loss in production.
UNDELIVERED_MAIL_BACKENDS = ("filebased", "console", "locmem", "dummy")


@register(Tags.security, deploy=True)
def email_is_delivered(**kwargs: Any) -> list[CheckMessage]:
    """Password reset links and receipts go by email; a file backend would keep them here."""
    backend = str(settings.MAILERS["default"]["BACKEND"])
    if any(f".{kind}." in backend for kind in UNDELIVERED_MAIL_BACKENDS):
        return [
            Warning(
                f"Emails are not delivered: EMAIL_BACKEND is {backend}.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                "the EMAIL_HOST settings.",
                id="orderdesk.W001",
            )
        ]
    return []
