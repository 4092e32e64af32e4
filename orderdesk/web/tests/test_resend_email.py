"""Resend an email action's email from the panel: its preview, once per dialog, roles."""

from __future__ import annotations

import re

from django.test import Client

from orderdesk.actions.models import ActionRun
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.testing import factories

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


def test_the_panel_previews_the_email_and_a_double_post_queues_once(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, email="aino@example.com")
    snapshot = email_action(order)
    client.force_login(world.sam)

    url = f"/orders/{order.number}/actions/{snapshot.pk}/resend/"
    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    dialog = client.get(url, headers=HTMX).content.decode()
    match = re.search(r'name="key" value="([0-9a-f]{32})"', dialog)
    assert match is not None
    first = client.post(url, {"key": match.group(1)}, headers=HTMX)
    second = client.post(url, {"key": match.group(1)}, headers=HTMX)

    # The panel composes no email: the dialog does, when asked.
    assert "Resend email…" in html
    assert f"Your receipt for order #{order.number}" not in html
    assert f"Your receipt for order #{order.number}" in dialog
    assert "Resend queued: Receipt" in first.content.decode()
    assert "nothing new to send" in second.content.decode()
    assert ActionRun.objects.count() == 1


def test_a_viewer_sees_no_resend_and_gets_403(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    snapshot = email_action(order)
    client.force_login(world.bob)

    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    url = f"/orders/{order.number}/actions/{snapshot.pk}/resend/"
    shown = client.get(url, headers=HTMX)
    posted = client.post(url, {"key": "a" * 32}, headers=HTMX)

    assert "Resend email" not in html
    assert (shown.status_code, posted.status_code) == (403, 403)
    assert not ActionRun.objects.exists()


def test_a_missing_key_is_refused(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    snapshot = email_action(order)
    client.force_login(world.sam)

    posted = client.post(f"/orders/{order.number}/actions/{snapshot.pk}/resend/", headers=HTMX)

    assert posted.status_code == 400
    assert "This form is out of date" in posted.content.decode()
    assert not ActionRun.objects.exists()


def test_an_action_that_sends_no_email_has_no_resend_dialog(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world)
    snapshot = factories.failed_kajabi_action(world, order)
    client.force_login(world.sam)

    shown = client.get(f"/orders/{order.number}/actions/{snapshot.pk}/resend/", headers=HTMX)

    assert shown.status_code == 404
