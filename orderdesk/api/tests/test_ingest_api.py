"""The checkout ingest API: each endpoint's happy path, each bad input, and tenancy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from orderdesk.catalog.models import AddOn, CheckoutLink, Offer, OfferItem
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, ProviderAccount
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state

BASE = "/api/v1/checkout"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


class CheckoutPage:
    """The checkout page's side of the API: a client holding one ingest key."""

    def __init__(self, client: Client, key: str) -> None:
        self.client = client
        self.key = key

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = self.client.generic(
            method,
            BASE + path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.key}", **headers},
        )
        response.data = response.json()  # type: ignore[attr-defined]
        return response

    def open(self, **body: Any) -> str:
        """Open an order; its checkout token, which every later call addresses it by."""
        response = self.call("POST", "/orders", {"link": "bf-meta", **body})
        assert response.status_code == 201, response.data
        return str(response.data["token"])

    def billed(self, email: str = "maija@example.com") -> str:
        token = self.open()
        response = self.call("PUT", f"/orders/{token}/billing", {"email": email, "country": "FI"})
        assert response.status_code == 200, response.data
        return token


@pytest.fixture
def storefront(world: factories.World, client: Client) -> CheckoutPage:
    return CheckoutPage(client, world.ingest_key)


def refused(
    storefront: CheckoutPage,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
    message: str,
) -> None:
    """The call is answered with the error, and the database is exactly as before."""
    before = database_state()

    response = storefront.call(method, path, body)

    assert response.status_code == status, response.data
    assert response.data["code"] == code
    assert message in response.data["detail"]
    assert database_state() == before


def test_it_serves_the_openapi_document_and_docs(client: Client, db: None) -> None:
    schema = client.get("/api/v1/openapi.json")
    docs = client.get("/api/v1/docs")

    assert schema.status_code == 200
    assert "/api/v1/checkout/orders/{token}/payments" in schema.json()["paths"]
    assert docs.status_code == 200


def test_it_opens_an_order(storefront: CheckoutPage) -> None:
    response = storefront.call(
        "POST", "/orders", {"link": "bf-meta", "currency": "eur"}, User_Agent=IPHONE
    )

    assert response.status_code == 201
    data = response.data
    assert (data["number"], data["status"], data["status_label"]) == (1, "started", "Started")
    assert (data["currency"], data["total_minor"], data["vat_minor"]) == ("EUR", 7900, 1605)
    assert data["link"] == "bf-meta"
    assert [line["name"] for line in data["lines"]] == ["Photography Masterclass"]
    assert data["vat_breakdown"] == [
        {"rate": "25.50", "net_minor": 6295, "vat_minor": 1605, "gross_minor": 7900}
    ]
    order = Order.objects.get(checkout_token=data["token"])
    assert (order.number, order.status) == (1, OrderStatus.STARTED)
    # Attribution is recorded for staff, and not handed back to the page.
    assert (order.source, order.tags, order.device_type) == (
        "Meta",
        ["black-friday", "ads"],
        "mobile",
    )
    assert not {"source", "tags", "device_type"} & set(data)


def test_it_prefers_the_customers_user_agent_from_the_body(storefront: CheckoutPage) -> None:
    token = storefront.open(user_agent=IPHONE)

    assert Order.objects.get(checkout_token=token).device_type == "mobile"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ck_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer od_not_an_ingest_key"],
)
def test_it_refuses_a_missing_or_wrong_key(
    world: factories.World, client: Client, authorization: str
) -> None:
    before = database_state()

    response = client.post(
        f"{BASE}/orders",
        data={"link": "bf-meta"},
        content_type="application/json",
        headers={"Authorization": authorization} if authorization else {},
    )

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Missing or unknown key" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"
    assert database_state() == before


def test_it_refuses_an_unknown_link(storefront: CheckoutPage) -> None:
    refused(
        storefront,
        "POST",
        "/orders",
        {"link": "nope"},
        404,
        "unknown_link",
        "no active checkout link 'nope'",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "link: Field required"),
        ({"link": "bf-meta", "currency": "EURO"}, "currency: String should match pattern"),
        ({"link": "bf-meta", "currency": 5}, "currency: Input should be a valid string"),
        ([1, 2], "link: Field required"),
    ],
)
def test_it_refuses_malformed_input(storefront: CheckoutPage, body: Any, message: str) -> None:
    refused(storefront, "POST", "/orders", body, 422, "invalid_input", message)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        # Found by test_api_fuzz: on PostgreSQL the slug lookup itself failed with a 500.
        ("/orders", {"link": "bf-\u0000meta"}, "link: Value error, must not contain the NUL"),
        ("/orders", {"link": "bf-meta", "user_agent": "\u0000"}, "user_agent: Value error"),
        ("/orders/{n}/billing", {"email": "a@b.fi", "country": "FI", "city": "x\u0000"}, "city:"),
        (
            "/orders/{n}/billing",
            {"email": "a@b.fi", "country": "FI", "extra_fields": {"Size\u0000": "M"}},
            "extra_fields: Value error",
        ),
        ("/orders/{n}/discount-code", {"code": "SAVE\u000010"}, "code: Value error"),
    ],
)
def test_it_refuses_the_nul_character(
    storefront: CheckoutPage, path: str, body: Any, message: str
) -> None:
    token = storefront.open()
    method = "PUT" if path.endswith("billing") else "POST"
    refused(storefront, method, path.format(n=token), body, 422, "invalid_input", message)


def test_it_refuses_a_body_that_is_not_json(storefront: CheckoutPage) -> None:
    before = database_state()

    response = storefront.client.post(
        f"{BASE}/orders",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {storefront.key}"},
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body", "code": "bad_request"}
    assert database_state() == before


def test_it_refuses_a_currency_the_offer_is_not_sold_in(storefront: CheckoutPage) -> None:
    refused(
        storefront,
        "POST",
        "/orders",
        {"link": "bf-meta", "currency": "GBP"},
        422,
        "currency_not_sold",
        "not sold in GBP",
    )


def test_it_shows_an_order(storefront: CheckoutPage) -> None:
    token = storefront.open()

    response = storefront.call("GET", f"/orders/{token}")

    assert response.status_code == 200
    assert (response.data["token"], response.data["number"]) == (token, 1)
    assert response.data["payment_attempts"] == []


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("1", 404, "unknown_order"),  # a number is no token
        ("0", 404, "unknown_order"),
        ("x" * 64, 404, "unknown_order"),
        ("x" * 65, 422, "invalid_input"),
    ],
)
def test_it_answers_404_or_422_for_orders_that_cannot_exist(
    storefront: CheckoutPage, token: str, status: int, code: str
) -> None:
    storefront.open()

    response = storefront.call("GET", f"/orders/{token}")

    assert response.status_code == status
    assert response.data["code"] == code


def test_it_saves_billing_with_put_or_post(storefront: CheckoutPage) -> None:
    token = storefront.open()

    put = storefront.call(
        "PUT",
        f"/orders/{token}/billing",
        {
            "email": "Maija@Example.com",
            "country": "fi",
            "first_name": "Maija",
            "last_name": "Meikäläinen",
            "analytics_consent": False,
            "extra_fields": {"Company size": "1-10"},
        },
    )
    post = storefront.call(
        "POST", f"/orders/{token}/billing", {"email": "m@example.com", "country": "SE"}
    )

    assert put.status_code == 200
    assert put.data["status"] == "in_progress"
    assert put.data["customer"]["email"] == "maija@example.com"
    assert put.data["customer"]["analytics_consent"] is False
    assert put.data["customer"]["extra_fields"] == {"Company size": "1-10"}
    assert post.status_code == 200
    assert (post.data["customer"]["email"], post.data["customer"]["country"]) == (
        "m@example.com",
        "SE",
    )


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"email": "maija(at)example.com", "country": "FI"},
            "invalid_email",
            "is not a valid email address",
        ),
        (
            {"email": "maija@example.com", "country": "QQ"},
            "invalid_country",
            "'QQ' is not a country code",
        ),
        ({"country": "FI"}, "invalid_input", "email: Field required"),
        (
            {"email": "m@example.com", "country": "FI", "phone": "1" * 51},
            "invalid_input",
            "phone: String should have at most 50",
        ),
    ],
)
def test_it_refuses_invalid_billing(
    storefront: CheckoutPage, body: dict[str, Any], code: str, message: str
) -> None:
    token = storefront.open()

    refused(storefront, "PUT", f"/orders/{token}/billing", body, 422, code, message)


def test_it_adds_and_removes_an_add_on(storefront: CheckoutPage, world: factories.World) -> None:
    token = storefront.open()

    added = storefront.call("POST", f"/orders/{token}/add-ons", {"add_on_id": world.bump.pk})
    removed = storefront.call("DELETE", f"/orders/{token}/add-ons/{world.bump.pk}")

    assert added.status_code == 200
    assert [(line["kind"], line["total_minor"]) for line in added.data["lines"]] == [
        ("main", 7900),
        ("order_bump", 900),
    ]
    assert added.data["total_minor"] == 8800
    assert removed.status_code == 200
    assert removed.data["total_minor"] == 7900


def test_it_refuses_an_add_on_that_is_not_on_the_offer(
    storefront: CheckoutPage, world: factories.World
) -> None:
    other_offer = Offer.objects.create(checkout=world.checkout, name="Other")
    foreign = AddOn.objects.create(offer=other_offer, kind="order_bump", product=world.coaching)
    token = storefront.open()

    refused(
        storefront,
        "POST",
        f"/orders/{token}/add-ons",
        {"add_on_id": foreign.pk},
        422,
        "add_on_not_on_offer",
        f"Add-on {foreign.pk} is not part of this order's offer.",
    )


def test_it_applies_and_removes_a_discount_code(
    storefront: CheckoutPage, world: factories.World
) -> None:
    factories.discount_code(world.checkout, "SAVE10")
    token = storefront.open()

    applied = storefront.call("POST", f"/orders/{token}/discount-code", {"code": "save10"})
    removed = storefront.call("DELETE", f"/orders/{token}/discount-code")

    assert applied.status_code == 200
    assert (
        applied.data["discount_code"],
        applied.data["discount_minor"],
        applied.data["total_minor"],
    ) == (
        "SAVE10",
        790,
        7110,
    )
    assert removed.status_code == 200
    assert (removed.data["discount_code"], removed.data["total_minor"]) == (None, 7900)


def per_email_exhausted(w: factories.World) -> None:
    code = factories.discount_code(w.checkout, "CODE", per_email_limit=2)
    factories.order(w, email="maija@example.com", discount_code=code)
    factories.order(w, email="maija@example.com", discount_code=code, status=OrderStatus.REFUNDED)


CODES: list[tuple[Callable[[factories.World], Any] | None, str, str]] = [
    (None, "discount_unknown", "Discount code 'CODE' does not exist."),
    (
        lambda w: factories.discount_code(
            w.checkout, "CODE", valid_until=timezone.now() - dt.timedelta(hours=1)
        ),
        "discount_expired",
        "Discount code CODE has expired.",
    ),
    (
        lambda w: factories.discount_code(
            w.checkout, "CODE", valid_from=timezone.now() + dt.timedelta(hours=1)
        ),
        "discount_not_yet_valid",
        "Discount code CODE is not valid yet.",
    ),
    (
        lambda w: factories.discount_code(w.checkout, "CODE", usage_limit=10, times_used=10),
        "discount_used_up",
        "Discount code CODE has been used up.",
    ),
    (per_email_exhausted, "discount_email_limit", "already been used with this email address"),
    (
        lambda w: factories.discount_code(w.checkout, "CODE", products=[w.coaching]),
        "discount_not_applicable",
        "Discount code CODE does not apply to any product in this order.",
    ),
    (
        lambda w: factories.discount_code(w.checkout, "CODE", exclude_discounted=True),
        "discount_not_applicable",
        "Discount code CODE does not apply to any product in this order.",
    ),
]


@pytest.mark.parametrize(("make", "code", "message"), CODES)
def test_it_refuses_a_discount_code_it_cannot_apply(
    storefront: CheckoutPage,
    world: factories.World,
    make: Callable[[factories.World], Any] | None,
    code: str,
    message: str,
) -> None:
    if make:
        make(world)
    token = storefront.billed(email="maija@example.com")

    refused(
        storefront, "POST", f"/orders/{token}/discount-code", {"code": "CODE"}, 422, code, message
    )


def test_it_starts_a_payment(storefront: CheckoutPage) -> None:
    token = storefront.billed()

    response = storefront.call(
        "POST",
        f"/orders/{token}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"},
    )

    assert response.status_code == 201
    # Handed to the provider: manual payments are settled outside, referenced by the stamp.
    assert response.data["status"] == "pending"
    assert len(response.data["stamp"]) == 32
    assert response.data["provider_reference"] == response.data["stamp"]
    assert response.data["redirect_url"] == ""
    state = storefront.call("GET", f"/orders/{token}").data
    assert state["status"] == "processing"
    assert [a["stamp"] for a in state["payment_attempts"]] == [response.data["stamp"]]


def test_a_payment_keeps_the_checkouts_return_page(storefront: CheckoutPage) -> None:
    token = storefront.billed()
    body = {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"}

    for bad in ("/thanks", "javascript:alert(1)", "https://shop.example.com/a b", "x" * 501):
        response = storefront.call("POST", f"/orders/{token}/payments", {**body, "return_url": bad})
        assert response.status_code == 422, bad
    refused(
        storefront,
        "POST",
        f"/orders/{token}/payments",
        {**body, "return_url": "javascript:alert(1)"},
        422,
        "invalid_return_url",
        "The return URL must be an absolute http or https address",
    )

    started = storefront.call(
        "POST",
        f"/orders/{token}/payments",
        {**body, "return_url": "https://shop.example.com/thank-you"},
    )

    assert started.status_code == 201
    attempt = PaymentAttempt.objects.get(stamp=started.data["stamp"])
    assert attempt.return_url == "https://shop.example.com/thank-you"


def test_it_refuses_a_payment_of_another_amount(storefront: CheckoutPage) -> None:
    token = storefront.billed()

    refused(
        storefront,
        "POST",
        f"/orders/{token}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 100, "currency": "EUR"},
        422,
        "amount_mismatch",
        "The payment of €1.00 does not match the order total of €79.00.",
    )


def test_it_refuses_a_payment_before_billing(storefront: CheckoutPage) -> None:
    token = storefront.open()

    refused(
        storefront,
        "POST",
        f"/orders/{token}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"},
        409,
        "transition_not_allowed",
        "Order #1 is Started: cannot start a payment.",
    )


def test_it_refuses_changes_once_payment_has_started(
    storefront: CheckoutPage, world: factories.World
) -> None:
    token = storefront.billed()
    storefront.call(
        "POST",
        f"/orders/{token}/payments",
        {"provider": "manual", "method": "invoice", "amount_minor": 7900, "currency": "EUR"},
    )

    refused(
        storefront,
        "POST",
        f"/orders/{token}/add-ons",
        {"add_on_id": world.bump.pk},
        409,
        "payment_started",
        "Order #1 is Processing: The products can no longer change once payment has started.",
    )


def test_it_hides_other_checkouts_orders_in_the_same_organization(
    world: factories.World, client: Client
) -> None:
    ours = CheckoutPage(client, world.ingest_key)
    token = ours.open()
    _, key = factories.checkout(world.org, "Second checkout")
    theirs = CheckoutPage(client, key)

    for method, path, body in [
        ("GET", f"/orders/{token}", None),
        ("PUT", f"/orders/{token}/billing", {"email": "x@example.com", "country": "FI"}),
        ("POST", f"/orders/{token}/add-ons", {"add_on_id": world.bump.pk}),
        ("DELETE", f"/orders/{token}/discount-code", None),
    ]:
        refused(
            theirs,
            method,
            path,
            body,
            404,
            "unknown_order",
            "There is no such order in this checkout.",
        )
    assert theirs.call("POST", "/orders", {"link": "bf-meta"}).status_code == 404


def test_it_keeps_each_organizations_order_numbers_apart(
    world: factories.World, client: Client
) -> None:
    offer = Offer.objects.create(checkout=world.other_checkout, name="Theirs", currencies=["EUR"])
    OfferItem.objects.create(
        offer=offer, product=factories.product(world.other_checkout, "Yoga", {"EUR": 500})
    )
    CheckoutLink.objects.create(checkout=world.other_checkout, offer=offer, name="Y", slug="yoga")
    ours = CheckoutPage(client, world.ingest_key)
    theirs = CheckoutPage(client, world.other_ingest_key)
    our_token = ours.billed(email="ours@example.com")
    their_token = theirs.open(link="yoga")
    assert Order.objects.get(checkout_token=our_token).number == 1
    assert Order.objects.get(checkout_token=their_token).number == 1

    seen = theirs.call("GET", f"/orders/{their_token}").data
    changed = theirs.call(
        "PUT", f"/orders/{their_token}/billing", {"email": "theirs@example.com", "country": "SE"}
    )

    assert seen["lines"][0]["name"] == "Yoga"
    assert changed.status_code == 200
    ours_now = Order.objects.get(checkout=world.checkout, number=1)
    assert (ours_now.customer_email, ours_now.country) == ("ours@example.com", "FI")
    assert theirs.call("POST", "/orders", {"link": "bf-meta"}).status_code == 404


def test_it_refuses_a_provider_the_checkout_has_not_set_up(storefront: CheckoutPage) -> None:
    token = storefront.billed()

    refused(
        storefront,
        "POST",
        f"/orders/{token}/payments",
        {"provider": "stripe", "method": "card", "amount_minor": 7900, "currency": "EUR"},
        422,
        "provider_not_available",
        "Stripe is not available in this checkout.",
    )


def test_it_fails_the_attempt_when_the_provider_cannot_be_reached(
    storefront: CheckoutPage, world: factories.World, settings: Any
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    ProviderAccount.objects.create(
        checkout=world.checkout, provider="stripe", secret_key="sk_test_unreachable"
    )
    token = storefront.billed()

    response = storefront.call(
        "POST",
        f"/orders/{token}/payments",
        {"provider": "stripe", "method": "card", "amount_minor": 7900, "currency": "EUR"},
    )

    assert response.status_code == 502
    assert response.data["code"] == "provider_error"
    assert response.data["detail"].startswith("Stripe: ")
    state = storefront.call("GET", f"/orders/{token}").data
    assert state["status"] == "in_progress"
    assert [a["status"] for a in state["payment_attempts"]] == ["failed"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nope", 404, "not_found"),
        ("GET", f"{BASE}/orders/1/nope", 404, "not_found"),
        ("PATCH", f"{BASE}/orders", 405, "method_not_allowed"),
        ("GET", f"{BASE}/orders", 405, "method_not_allowed"),
    ],
)
def test_unknown_paths_and_methods_answer_detail_and_code(
    storefront: CheckoutPage, method: str, path: str, status: int, code: str
) -> None:
    before = database_state()

    response = storefront.client.generic(
        method, path, "{}", content_type="application/json", headers={"Authorization": "x"}
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"detail", "code"}
    if status == 405:
        assert "POST" in response["Allow"]
    assert database_state() == before
