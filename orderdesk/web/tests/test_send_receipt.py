"""Send receipt from the panel, for an order whose checkout sends none: the dialog loads when
asked, previews in the chosen language, sends once per dialog; roles."""

from __future__ import annotations

import re

from django.test import Client

from orderdesk.actions.models import ActionRun
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.orders.models import OrderStatus
from orderdesk.testing import factories

HTMX = {"HX-Request": "true", "HX-Target": "panel"}


def test_the_dialog_previews_in_the_chosen_language_and_a_double_post_queues_once(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world, email="aino@example.com")
    client.force_login(world.sam)
    url = f"/orders/{order.number}/receipt/"

    panel = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    dialog = client.get(url, headers=HTMX).content.decode()
    swedish = client.get(url, {"language": "sv"}, headers=HTMX).content.decode()
    key = re.search(r'name="key" value="([0-9a-f]{32})"', dialog)
    assert key is not None
    first = client.post(url, {"key": key.group(1), "language": "sv"}, headers=HTMX)
    second = client.post(url, {"key": key.group(1), "language": "sv"}, headers=HTMX)

    assert "Send receipt…" in panel
    assert f"Your receipt for order #{order.number}" in dialog
    assert f"Ditt kvitto för beställning #{order.number}" in swedish
    assert "Receipt queued to aino@example.com" in first.content.decode()
    assert "The receipt was sent already" in second.content.decode()
    assert ActionRun.objects.count() == 1
    # Sent once, it is the order's receipt action: the panel offers Resend instead.
    after = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    assert "Send receipt…" not in after


def test_it_is_not_offered_with_a_receipt_action_or_before_payment(
    client: Client, world: factories.World
) -> None:
    with_action = factories.order(world)
    email_action(with_action)
    unpaid = factories.order(world, status=OrderStatus.PROCESSING)
    client.force_login(world.sam)

    for order in (with_action, unpaid):
        html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
        assert "Send receipt…" not in html
    posted = client.post(
        f"/orders/{unpaid.number}/receipt/", {"key": "a" * 32, "language": "en"}, headers=HTMX
    )

    assert posted.status_code == 400
    assert "Only a paid order has a receipt to send." in posted.content.decode()
    assert not ActionRun.objects.exists()


def test_a_viewer_sees_no_button_and_gets_403(client: Client, world: factories.World) -> None:
    order = factories.order(world)
    client.force_login(world.bob)

    html = client.get(f"/orders/{order.number}/", headers=HTMX).content.decode()
    shown = client.get(f"/orders/{order.number}/receipt/", headers=HTMX)
    posted = client.post(
        f"/orders/{order.number}/receipt/", {"key": "a" * 32, "language": "en"}, headers=HTMX
    )

    assert "Send receipt" not in html
    assert (shown.status_code, posted.status_code) == (403, 403)
    assert not ActionRun.objects.exists()


def test_a_missing_key_or_unknown_language_is_refused(
    client: Client, world: factories.World
) -> None:
    order = factories.order(world)
    client.force_login(world.sam)
    url = f"/orders/{order.number}/receipt/"

    no_key = client.post(url, {"language": "en"}, headers=HTMX)
    bad_language = client.post(url, {"key": "a" * 32, "language": "de"}, headers=HTMX)
    shown = client.get(url, {"language": "de"}, headers=HTMX)

    assert (no_key.status_code, bad_language.status_code) == (400, 400)
    assert "This form is out of date" in no_key.content.decode()
    assert shown.status_code == 200  # an unknown language previews in English
    assert "Your receipt for order" in shown.content.decode()
    assert not ActionRun.objects.exists()
