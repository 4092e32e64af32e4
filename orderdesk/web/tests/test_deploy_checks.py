"""`manage.py check --deploy` as production runs it: clean with production settings, failing
without SECRET_KEY (issue 18, finding 5)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SECURE_COOKIES": "1",
    "ALLOWED_HOSTS": "orders.example.com",
    "SITE_URL": "https://orders.example.com",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.com",
}


def check_deploy(**env: str | None) -> subprocess.CompletedProcess[str]:
    # As a production process starts: only what it is given, nothing from the test run.
    environment = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    environment.update({name: value for name, value in env.items() if value is not None})
    return subprocess.run(
        [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_is_clean_with_production_settings() -> None:
    result = check_deploy(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key() -> None:
    result = check_deploy(**{**PRODUCTION, "SECRET_KEY": None})

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_the_development_key_fails_the_check_even_in_debug() -> None:
    result = check_deploy(**{**PRODUCTION, "SECRET_KEY": None, "DEBUG": "1"})

    assert result.returncode != 0
    assert "orderdesk.E001" in result.stderr


def test_it_warns_when_emails_are_only_written_to_files() -> None:
    result = check_deploy(
        **{**PRODUCTION, "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}
    )

    assert result.returncode != 0
    assert "orderdesk.W001" in result.stderr
