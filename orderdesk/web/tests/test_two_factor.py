"""An optional second factor (TOTP) that an organization can require of everyone who can
refund (issue 18, finding 8): enrol, verify, required by the organization, a viewer not."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from orderdesk.organizations.models import User
from orderdesk.testing import factories
from orderdesk.testing.factories import PASSWORD, World


def code_of(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def authenticator(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def log_in(client: Client, user: User) -> str:
    response = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return str(response["Location"])


def requires_two_factor(world: World) -> None:
    world.org.require_two_factor = True
    world.org.save(update_fields=["require_two_factor"])


@pytest.fixture
def order(world: World) -> int:
    return factories.order(world).number


# -- enrol ---------------------------------------------------------------------------------


def test_a_member_enrols_from_a_page_with_a_qr_code(client: Client, world: World) -> None:
    client.force_login(world.sam)

    page = client.get("/account/two-factor/")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg width="' in html
    assert 'class="qr-code"' in html
    assert "<script" not in html.split("<main", 1)[1]
    device = TOTPDevice.objects.get(user=world.sam)
    assert device.confirmed is False
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert secret is not None
    assert len(secret.group(1).replace(" ", "")) == 32
    assert client.get("/account/two-factor/").content.decode().count(secret.group(1)) == 1


def test_a_code_from_the_app_turns_it_on_and_verifies_the_session(
    client: Client, world: World
) -> None:
    client.force_login(world.sam)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=world.sam)

    response = client.post("/account/two-factor/", {"code": code_of(device), "next": "/reports/"})

    assert response.status_code == 302
    assert response["Location"] == "/reports/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/reports/").status_code == 200
    assert "Two-factor authentication is on" in client.get("/account/two-factor/").content.decode()


def test_a_wrong_code_does_not_turn_it_on(client: Client, world: World) -> None:
    client.force_login(world.sam)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=world.sam)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    response = client.post("/account/two-factor/", {"code": wrong})

    assert response.status_code == 200
    assert "That code did not match" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False


# -- verify --------------------------------------------------------------------------------


def test_with_an_authenticator_the_orders_wait_for_the_code(
    client: Client, world: World, order: int
) -> None:
    device = authenticator(world.sam)

    landing = log_in(client, world.sam)
    gated = client.get(landing)

    assert gated.status_code == 302
    assert gated["Location"] == "/login/verify/?next=%2Forders%2F"
    for path in (f"/orders/{order}/", "/reports/", "/orders/export.csv", "/reports/export.csv"):
        assert client.get(path).status_code == 302, path
    panel = client.get(f"/orders/{order}/", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert panel["HX-Redirect"].startswith("/login/verify/")
    assert b"customer@example.com" not in panel.content

    verified = client.post(gated["Location"], {"code": code_of(device), "next": "/orders/"})

    assert verified["Location"] == "/orders/"
    assert client.get(f"/orders/{order}/").status_code == 200


def test_a_wrong_code_is_refused_and_repeated_ones_wait(client: Client, world: World) -> None:
    device = authenticator(world.sam)
    log_in(client, world.sam)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"

    first = client.post("/login/verify/", {"code": wrong})
    second = client.post("/login/verify/", {"code": code_of(device)})

    assert "That code did not match" in first.content.decode()
    # django-otp waits 1 s after one wrong code, 2 s after two, and so on.
    assert "Too many wrong codes: try again in 1 second." in second.content.decode()
    assert client.get("/orders/").status_code == 302


def test_a_code_is_accepted_once(client: Client, world: World) -> None:
    device = authenticator(world.sam)
    log_in(client, world.sam)
    code = code_of(device)
    assert client.post("/login/verify/", {"code": code})["Location"] == "/orders/"
    other = Client()
    log_in(other, world.sam)

    replay = other.post("/login/verify/", {"code": code})

    assert replay.status_code == 200
    assert other.get("/orders/").status_code == 302


def test_the_code_is_asked_at_every_login(client: Client, world: World) -> None:
    device = authenticator(world.sam)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        log_in(client, world.sam)
        client.post("/login/verify/", {"code": code_of(device)})
        client.post("/logout/")
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        log_in(client, world.sam)
        assert client.get("/orders/").status_code == 302


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_it_never_sends_anyone_to_another_site(client: Client, world: World, next_url: str) -> None:
    device = authenticator(world.sam)
    log_in(client, world.sam)

    response = client.post("/login/verify/", {"code": code_of(device), "next": next_url})

    assert response["Location"] == "/orders/"


@pytest.mark.parametrize("code", ["", "abc", "12345", "1234567", "1" * 500, "12\x0034"])
def test_bad_codes_are_form_errors(client: Client, world: World, code: str) -> None:
    authenticator(world.sam)
    log_in(client, world.sam)

    response = client.post("/login/verify/", {"code": code})

    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()


def test_the_admin_waits_for_the_code_too(client: Client, world: World) -> None:
    operator = User.objects.create_superuser("ops@orderdesk.example", PASSWORD)
    device = authenticator(operator)
    client.force_login(operator)

    assert client.get("/admin/")["Location"] == "/login/verify/?next=%2Fadmin%2F"
    client.post("/login/verify/", {"code": code_of(device)})
    assert client.get("/admin/").status_code == 200


def test_an_operator_removing_a_lost_device_lets_the_member_in_with_the_password(
    client: Client, world: World
) -> None:
    device = authenticator(world.sam)
    operator = User.objects.create_superuser("ops@orderdesk.example", PASSWORD)
    operator_device = authenticator(operator)
    client.force_login(operator)
    client.post("/login/verify/", {"code": code_of(operator_device)})

    removed = client.post(
        f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}, follow=False
    )

    assert removed.status_code == 302
    world.sam.refresh_from_db()
    assert world.sam.has_authenticator is False
    member = Client()
    assert member.get(log_in(member, world.sam)).status_code == 200


def test_the_user_row_follows_the_confirmed_devices(world: World) -> None:
    pending = TOTPDevice.objects.create(user=world.sam, name="Authenticator app", confirmed=False)
    world.sam.refresh_from_db()
    assert world.sam.has_authenticator is False

    pending.confirmed = True
    pending.save()
    world.sam.refresh_from_db()
    assert world.sam.has_authenticator is True

    authenticator(world.sam).delete()  # a second device comes and goes
    world.sam.refresh_from_db()
    assert world.sam.has_authenticator is True

    pending.delete()
    world.sam.refresh_from_db()
    assert world.sam.has_authenticator is False


def test_the_gate_reads_no_device_table_on_each_page(
    client: Client, world: World, order: int
) -> None:
    client.force_login(world.sam)
    client.get("/orders/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/orders/").status_code == 200

    assert not [q for q in queries.captured_queries if "otp_" in q["sql"]]


# -- required by the organization ------------------------------------------------------------


def test_an_organization_requires_it_of_everyone_who_can_refund(
    client: Client, world: World, order: int
) -> None:
    requires_two_factor(world)

    gated = client.get(log_in(client, world.sam))

    assert gated["Location"] == "/account/two-factor/?next=%2Forders%2F"
    for path in (f"/orders/{order}/", "/reports/", f"/orders/{order}/refund/"):
        assert client.get(path).status_code == 302, path
    setup = client.get(gated["Location"])
    assert "Your organization asks everyone who can refund" in setup.content.decode()
    device = TOTPDevice.objects.get(user=world.sam)
    client.post("/account/two-factor/", {"code": code_of(device), "next": "/orders/"})
    assert client.get(f"/orders/{order}/").status_code == 200


def test_the_owner_is_required_too(client: Client, world: World) -> None:
    requires_two_factor(world)

    assert client.get(log_in(client, world.alice))["Location"].startswith("/account/two-factor/")


def test_a_viewer_is_not_required(client: Client, world: World, order: int) -> None:
    requires_two_factor(world)

    landing = client.get(log_in(client, world.bob))

    assert landing.status_code == 200
    assert client.get(f"/orders/{order}/").status_code == 200


def test_another_organizations_rule_does_not_apply(client: Client, world: World) -> None:
    requires_two_factor(world)

    assert client.get(log_in(client, world.charlie)).status_code == 200


def test_a_rule_turned_on_reaches_members_already_signed_in(
    client: Client, world: World, order: int
) -> None:
    client.force_login(world.sam)
    assert client.get("/orders/").status_code == 200

    requires_two_factor(world)

    assert client.get(f"/orders/{order}/")["Location"].startswith("/account/two-factor/")


def test_enrolling_in_a_browser_under_the_csp(
    transactional_db: None, live_server: Any, browser_page: Page
) -> None:
    world = factories.world()
    requires_two_factor(world)
    page = browser_page
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(world.sam.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator("svg.qr-code")).to_be_visible()
    page.get_by_text("Can't scan it?").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time()
    page.get_by_label("Enter the 6-digit code the app shows").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Turn on").click()

    page.wait_for_url(re.compile(r"/orders/$"))
    expect(page.locator("tr.order-row, .empty-state").first).to_be_visible()
    assert refused == []
