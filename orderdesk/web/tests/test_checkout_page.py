"""The demo checkout page (issue 16): open, add-ons, code, billing, payment start, thank-you."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel, AddOn, Offer
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, Provider, ProviderAccount
from orderdesk.payments.tests.conftest import sandboxed
from orderdesk.sandboxes import deliveries
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.web.views.checkout_page import SESSION_KEY

pytestmark = pytest.mark.django_db
__all__ = ["sandboxed"]

BILLING = {
    "email": "Maija@Example.com",
    "first_name": "Maija",
    "last_name": "Meikäläinen",
    "country": "FI",
    "analytics_consent": "on",
}


def url(world: World, name: str = "page") -> str:
    return reverse(f"checkout_page:{name}", args=[world.checkout.pk, world.link.slug])


def opened(client: Client, world: World) -> Order:
    response = client.get(url(world))
    assert response.status_code == 200
    return Order.objects.get(pk=client.session[SESSION_KEY][f"{world.checkout.pk}/bf-meta"])


def test_opening_the_page_opens_one_started_order_per_session(world: World) -> None:
    client = Client()
    order = opened(client, world)
    assert order.status == OrderStatus.STARTED
    assert order.checkout == world.checkout
    assert order.link == world.link
    # A reload shows the same order; another customer gets their own.
    client.get(url(world))
    assert Order.objects.count() == 1
    opened(Client(), world)
    assert Order.objects.count() == 2


def test_the_page_shows_the_offer_add_ons_price_with_vat_and_billing(world: World) -> None:
    response = Client().get(url(world))
    page = response.content.decode()
    assert "Masterclass launch" in page
    assert "Workbook PDF" in page  # the order bump
    assert "1:1 Coaching Call" in page  # the pre-upsell
    assert "€79.00" in page  # the offer's price
    assert "Includes VAT" in page
    assert 'name="analytics_consent"' in page
    assert 'name="code"' in page


def test_the_page_speaks_finnish_to_a_finnish_browser(world: World) -> None:
    response = Client(headers={"Accept-Language": "fi"}).get(url(world))
    page = response.content.decode()
    assert "Tilauksen yhteenveto" in page
    assert "79,00" in page


def test_unknown_link_or_checkout_is_404_and_opens_nothing(world: World) -> None:
    client = Client()
    assert client.get(f"/c/{world.checkout.pk}/no-such-link/").status_code == 404
    assert client.get(f"/c/999999/{world.link.slug}/").status_code == 404
    assert not Order.objects.exists()


def test_an_offer_without_a_price_opens_nothing_and_says_so(world: World) -> None:
    world.offer.currencies = ["NOK"]
    world.offer.save(update_fields=["currencies"])
    response = Client().get(url(world))
    assert response.status_code == 409
    assert "This offer cannot be bought right now" in response.content.decode()
    assert "Main checkout" in response.content.decode()
    assert not Order.objects.exists()


def test_the_page_is_served_only_with_the_sandboxes(world: World, settings: object) -> None:
    settings.SANDBOXES_ENABLED = False  # type: ignore[attr-defined]
    assert Client().get(url(world)).status_code == 404
    assert not Order.objects.exists()


def test_ticking_add_ons_reprices_and_htmx_gets_the_summary(world: World) -> None:
    client = Client()
    order = opened(client, world)
    response = client.post(
        url(world, "add_on"),
        {"add_on": world.bump.pk, "chosen": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="summary"' in response.content.decode()
    assert "<html" not in response.content.decode()
    order.refresh_from_db()
    assert order.total_minor == 7900 + 900
    assert "€88.00" in response.content.decode()
    # Clearing it takes it off again; without htmx the page is shown again (a redirect).
    response = client.post(url(world, "add_on"), {"add_on": world.bump.pk})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total_minor == 7900


def test_an_add_on_of_another_offer_or_garbage_is_refused_with_a_message(world: World) -> None:
    client = Client()
    order = opened(client, world)
    other_offer = Offer.objects.create(checkout=world.checkout, name="Other")
    other = AddOn.objects.create(offer=other_offer, kind="order_bump", product=world.workbook)
    for data in ({"add_on": other.pk, "chosen": "1"}, {"add_on": "x"}, {}):
        response = client.post(url(world, "add_on"), data, headers={"HX-Request": "true"})
        assert response.status_code == 400
        assert "That add-on is not part of this offer." in response.content.decode()
    order.refresh_from_db()
    assert order.total_minor == 7900


def test_a_discount_code_applies_and_a_bad_one_is_explained(world: World) -> None:
    factories.discount_code(world.checkout, "SPRING10")
    client = Client()
    order = opened(client, world)
    hx = {"HX-Request": "true"}
    response = client.post(url(world, "discount"), {"code": "NOPE"}, headers=hx)
    assert response.status_code == 400
    assert "That discount code does not exist." in response.content.decode()
    response = client.post(url(world, "discount"), {"code": "spring10"}, headers=hx)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.discount_minor == 790
    assert order.total_minor == 7110
    assert "SPRING10" in response.content.decode()
    response = client.post(url(world, "discount"), {"remove": "1"}, headers=hx)
    order.refresh_from_db()
    assert order.discount_code is None
    assert order.total_minor == 7900


def test_billing_moves_the_order_in_progress_and_bad_input_changes_nothing(world: World) -> None:
    ProviderAccount.objects.create(checkout=world.checkout, provider=Provider.STRIPE)
    client = Client()
    order = opened(client, world)
    response = client.post(url(world, "billing"), {**BILLING, "email": "not an email"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    response = client.post(url(world, "billing"), {**BILLING, "country": "XX"})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTED
    assert order.customer_email == ""

    response = client.post(url(world, "billing"), BILLING)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert order.customer_email == "maija@example.com"
    assert order.last_name == "Meikäläinen"
    assert order.analytics_consent is True
    page = client.get(url(world)).content.decode()
    assert 'id="pay-form"' in page


def test_steps_need_the_sessions_order(world: World) -> None:
    opened(Client(), world)
    stranger = Client()
    assert stranger.post(url(world, "billing"), BILLING).status_code == 404
    assert stranger.post(url(world, "add_on"), {"add_on": world.bump.pk}).status_code == 404
    assert stranger.get(url(world, "thanks")).status_code == 404
    assert Order.objects.get().status == OrderStatus.STARTED


def test_posts_need_the_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    order = opened(client, world)
    assert client.post(url(world, "billing"), BILLING).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTED


def test_paying_before_billing_or_a_stale_total_is_refused(world: World) -> None:
    ProviderAccount.objects.create(
        checkout=world.checkout, provider=Provider.MANUAL, methods=["invoice"]
    )
    client = Client()
    order = opened(client, world)
    # No provider account for Stripe here: the choice itself is refused by the form.
    response = client.post(url(world, "pay"), {"provider": "stripe:card", "total_minor": 7900})
    assert response.status_code == 400
    assert not PaymentAttempt.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.STARTED


def test_paying_through_the_stripe_sandbox_ends_paid_then_completed(sandboxed: World) -> None:
    world = sandboxed
    receipt_action(world)
    client = Client()
    order = opened(client, world)
    client.post(url(world, "add_on"), {"add_on": world.bump.pk, "chosen": "1"})
    client.post(url(world, "billing"), BILLING)
    response = client.post(url(world, "pay"), {"provider": "stripe:card", "total_minor": 8800})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.provider, attempt.method, attempt.amount_minor) == ("stripe", "card", 8800)
    pay_url = response["Location"]
    assert f"/sandbox/stripe/pay/{attempt.provider_reference}/?return_url=" in pay_url

    # The sandbox's card page, then back to the thank-you page as Stripe.js returns.
    response = client.post(pay_url.removeprefix(world_base(pay_url)), {"outcome": "succeed"})
    assert response.status_code == 302
    assert response["Location"].startswith("http://testserver" + url(world, "thanks"))
    assert "redirect_status=succeeded" in response["Location"]
    thanks = client.get(response["Location"]).content.decode()
    assert "Confirming your payment" in thanks  # the webhook has not arrived yet

    deliveries.deliver_pending()  # Stripe's payment_intent.succeeded
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    thanks = client.get(url(world, "thanks"), headers={"HX-Request": "true"}).content.decode()
    assert "Thank you for your order!" in thanks
    assert "We are preparing your access" in thanks
    assert "hx-trigger" in thanks  # still polling

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)  # the receipt
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert [e.data.get("to") for e in order.events.exclude(data__to=None).order_by("pk")] == [
        "in_progress",
        "processing",
        "paid",
        "completed",
    ]
    assert [m.to for m in mail.outbox] == [["maija@example.com"]]
    thanks = client.get(url(world, "thanks"), headers={"HX-Request": "true"}).content.decode()
    assert "your order is ready" in thanks
    assert "hx-trigger" not in thanks  # nothing more to wait for
    # Opening the link again is a new purchase, not the paid order.
    assert opened(client, world).pk != order.pk


def receipt_action(world: World) -> ActionConfig:
    return ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        name="Send receipt email",
    )


def test_a_declined_card_comes_back_to_try_again(sandboxed: World) -> None:
    world = sandboxed
    client = Client()
    order = opened(client, world)
    client.post(url(world, "billing"), BILLING)
    pay_url = client.post(url(world, "pay"), {"provider": "stripe:card", "total_minor": 7900})[
        "Location"
    ]
    response = client.post(pay_url.removeprefix(world_base(pay_url)), {"outcome": "decline"})
    assert "redirect_status=failed" in response["Location"]
    deliveries.deliver_pending()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    response = client.get(response["Location"])
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "The payment was not completed" in page
    assert 'id="pay-form"' in page


def test_a_stale_total_is_refused_and_nothing_is_charged(sandboxed: World) -> None:
    world = sandboxed
    client = Client()
    order = opened(client, world)
    client.post(url(world, "billing"), BILLING)
    client.post(url(world, "add_on"), {"add_on": world.bump.pk, "chosen": "1"})
    response = client.post(url(world, "pay"), {"provider": "stripe:card", "total_minor": 7900})
    assert response.status_code == 400
    assert "The total changed while you were on this page" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert not PaymentAttempt.objects.exists()


def test_the_sandbox_refuses_a_return_url_of_another_site(sandboxed: World) -> None:
    world = sandboxed
    client = Client()
    opened(client, world)
    client.post(url(world, "billing"), BILLING)
    pay_url = client.post(url(world, "pay"), {"provider": "stripe:card", "total_minor": 7900})[
        "Location"
    ]
    path = pay_url.removeprefix(world_base(pay_url)).split("?")[0]
    response = client.get(path, {"return_url": "https://evil.example/"})
    assert response.status_code == 400


def world_base(absolute: str) -> str:
    """The live server's origin of an absolute URL, so the test client can follow it."""
    scheme, _, rest = absolute.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def test_paying_through_a_paytrail_bank_ends_paid_on_the_checkouts_thanks_page(
    sandboxed: World,
) -> None:
    world = sandboxed
    client = Client()
    order = opened(client, world)
    client.post(url(world, "billing"), BILLING)
    page = client.get(url(world)).content.decode()
    assert 'value="paytrail:nordea"' in page
    assert "Nordea (Paytrail)" in page
    response = client.post(url(world, "pay"), {"provider": "paytrail:nordea", "total_minor": 7900})
    assert response.status_code == 200
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.provider, attempt.method) == ("paytrail", "nordea")
    continue_page = response.content.decode()
    assert f"/sandbox/paytrail/pay/{attempt.provider_reference}/" in continue_page
    assert 'name="provider" value="nordea"' in continue_page

    # The customer posts the bank button to Paytrail, which sends them back signed.
    response = client.post(
        f"/sandbox/paytrail/pay/{attempt.provider_reference}/", {"provider": "nordea"}
    )
    back = response["Location"]
    assert f"/payments/paytrail/{world.checkout.pk}/success/" in back
    result = client.get(back.removeprefix(world_base(back)))
    # Applied there, then on to the checkout page's own thank-you page.
    assert result.status_code == 302
    thanks = result["Location"]
    assert thanks.endswith(f"{url(world, 'thanks')}?redirect_status=succeeded"), thanks
    page = client.get(thanks.removeprefix(world_base(thanks))).content.decode()
    assert "Thank you for your order!" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED  # no actions in this checkout
    assert list(order.events.exclude(data__to=None).values_list("data__to", flat=True)) == [
        "in_progress",
        "processing",
        "paid",
        "completed",
    ]
