"""The headers a careful operator expects (issue 18, finding 6): a Content-Security-Policy
without inline scripts, no caching of anything with customer data, Referrer-Policy,
X-Content-Type-Options, and HSTS in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.testing import factories


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def member(client: Client, world: factories.World) -> Client:
    factories.order(world)
    client.force_login(world.sam)
    return client


def test_pages_carry_a_policy_without_inline_scripts_or_styles(member: Client) -> None:
    response = member.get("/orders/")

    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_pages_load_scripts_only_from_our_static_files(
    member: Client, world: factories.World
) -> None:
    order = factories.order(world)
    factories.failed_kajabi_action(world, order)
    pages = [
        member.get("/orders/").content.decode(),
        member.get(f"/orders/{order.number}/").content.decode(),
        member.get(f"/orders/{order.number}/", headers={"HX-Request": "true"}).content.decode(),
        member.get(f"/orders/{order.number}/refund/").content.decode(),
        member.get("/reports/?tab=products").content.decode(),
    ]
    for html in pages:
        assert "onclick=" not in html
        assert " style=" not in html
        for script in html.split("<script")[1:]:
            assert script.lstrip().startswith("src="), script[:80]


@pytest.mark.parametrize(
    "path", ["/orders/", "/orders/export.csv", "/reports/", "/reports/export.csv"]
)
def test_signed_in_pages_and_exports_are_never_stored(member: Client, path: str) -> None:
    response = member.get(path)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_api_answers_are_never_stored(client: Client, world: factories.World) -> None:
    factories.order(world)
    _, raw = ApiToken.issue(checkout=world.checkout, name="CRM", role=CheckoutRole.VIEWER)
    auth = {"Authorization": f"Bearer {raw}"}

    for path in ("/api/v1/orders", "/api/v1/orders/export.csv", "/api/v1/orders/999999"):
        response = client.get(path, headers=auth)
        assert "no-store" in response["Cache-Control"], path


def test_every_page_sends_referrer_policy_and_nosniff(client: Client, db: None) -> None:
    response = client.get("/login/")

    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def served_headers(**env: str) -> str:
    """The login page's headers from a process started with `env`, as production starts."""
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/login/', secure=True); "
        "print('\\n'.join(f'{k}: {v}' for k, v in r.headers.items()))"
    )
    environment = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    environment.update(
        DJANGO_SETTINGS_MODULE="orderdesk.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver",
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_hsts_is_sent_when_cookies_are_secure() -> None:
    production = served_headers(SECURE_COOKIES="1")
    development = served_headers(SECURE_COOKIES="0")

    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains" in production
    assert "Strict-Transport-Security" not in development
