"""The Stripe adapter against Stripe's published contract (issue 12).

Every request the adapter sends, through the real SDK over real HTTP, is checked against
Stripe's OpenAPI document and stripe-python's typed params (`stripe_contract.check_request`);
the adapter is fed Stripe's published example objects unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from django.utils import timezone

from orderdesk.payments.models import ProviderAccount, Refund, RefundStatus
from orderdesk.payments.providers.base import PaymentProvider, RefundResult
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.providers.stripe import Stripe, parse_event
from orderdesk.payments.refunds import reconcile_pending_refunds
from orderdesk.payments.tests.conftest import begin_payment, refund_row
from orderdesk.payments.tests.stripe_contract import (
    ContractViolation,
    SentRequest,
    answering,
    check_request,
    published,
)
from orderdesk.sandboxes import deliveries
from orderdesk.testing import factories
from orderdesk.testing.factories import World

EVERY_OPERATION = {
    "POST /v1/payment_intents",
    "POST /v1/refunds",
    "GET /v1/refunds/{refund}",
    "GET /v1/refunds",
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[SentRequest]:
    """Every request to a Stripe API path, as it left the process (the SDK's httpx client)."""
    recorded: list[SentRequest] = []
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if "/v1/" in request.url.path and "/sandbox/paytrail" not in request.url.path:
            recorded.append(SentRequest.of(request))
        return original(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return recorded


def _pay(url: str) -> None:
    response = httpx.post(url, data={"outcome": "succeed"}, headers={"Accept": "application/json"})
    assert response.status_code == 200


def test_every_request_the_adapter_sends_is_in_stripes_document(
    sandboxed: World, sent: list[SentRequest]
) -> None:
    _, attempt, start, adapter = begin_payment(sandboxed, "stripe")
    _pay(start.redirect_url)
    deliveries.deliver_pending()
    attempt.refresh_from_db()
    refund = refund_row(attempt, 500)
    refund.provider_reference = adapter.refund(attempt, refund).provider_reference
    assert adapter.refund_status(attempt, refund).status == "succeeded"
    # A refund whose answer never came is looked for among the payment's refunds.
    assert adapter.refund_status(attempt, refund_row(attempt, 300)).status == "failed"

    checked = {check_request(request) for request in sent}

    assert checked == EVERY_OPERATION


def _untyped(params: dict[str, Any]) -> Any:
    """Params the SDK's types would refuse: what a mistaken adapter could still send."""
    return params


def _sdk(adapter: PaymentProvider) -> stripe.StripeClient:
    assert isinstance(adapter, Stripe)
    return adapter._client()


def test_the_check_refuses_a_field_the_document_does_not_allow(
    sandboxed: World, sent: list[SentRequest]
) -> None:
    _, attempt, start, adapter = begin_payment(sandboxed, "stripe")
    _pay(start.redirect_url)
    check_request(sent[0])  # the adapter's own request passes

    with pytest.raises(stripe.InvalidRequestError):  # the sandbox refuses it like Stripe
        _sdk(adapter).v1.refunds.create(
            params=_untyped({"payment_intent": attempt.provider_reference, "items": "1"})
        )

    with pytest.raises(ContractViolation, match="'items' was unexpected"):
        check_request(sent[-1])


def test_the_check_refuses_a_request_without_a_required_field(
    sandboxed: World, sent: list[SentRequest]
) -> None:
    _, _, _, adapter = begin_payment(sandboxed, "stripe")

    with pytest.raises(stripe.InvalidRequestError):
        _sdk(adapter).v1.payment_intents.create(params=_untyped({"amount": 1000}))

    with pytest.raises(ContractViolation, match="'currency' is a required property"):
        check_request(sent[-1])


def test_the_check_refuses_a_value_of_the_wrong_type(
    sandboxed: World, sent: list[SentRequest]
) -> None:
    _, attempt, start, adapter = begin_payment(sandboxed, "stripe")
    _pay(start.redirect_url)

    with pytest.raises(stripe.InvalidRequestError):
        _sdk(adapter).v1.refunds.create(
            params=_untyped({"payment_intent": attempt.provider_reference, "amount": "ten"})
        )

    with pytest.raises(ContractViolation, match="'ten' is not of type 'integer'"):
        check_request(sent[-1])


# Stripe's published examples, fed unchanged over real HTTP.


@pytest.fixture
def stripe_world(db: None) -> World:
    world = factories.world()
    ProviderAccount.objects.create(
        checkout=world.checkout,
        provider="stripe",
        secret_key="sk_test_published",
        webhook_secret="whsec_published",
    )
    return world


@pytest.fixture
def stripe_answers(settings: Any) -> Iterator[Any]:
    """Point the adapter at a server answering with one body: call it with the body."""

    def serve(body: dict[str, Any]) -> Any:
        server = answering(body)
        settings.STRIPE_API_BASE = server.__enter__()
        opened.append(server)
        return server

    opened: list[Any] = []
    yield serve
    for server in opened:
        server.__exit__(None, None, None)


def _refund_of(world: World, *, reference: str = "") -> Refund:
    order = factories.order(world)
    attempt = order.payment_attempts.get()
    refund = refund_row(attempt, 100)
    refund.provider_reference = reference
    return refund


def test_published_refund_has_no_failure_reason() -> None:
    # What finding 1 is about: Stripe leaves the field out of a refund that has not failed.
    assert "failure_reason" not in published("refund")
    assert published("refund")["status"] == "succeeded"


def test_the_adapter_reads_stripes_published_refund(
    stripe_world: World, stripe_answers: Any
) -> None:
    refund = _refund_of(stripe_world)
    stripe_answers(published("refund"))
    adapter = get_provider("stripe", stripe_world.checkout)

    result = adapter.refund(refund.payment_attempt, refund)  # type: ignore[arg-type]

    assert result == RefundResult(
        "succeeded",
        provider_reference=published("refund")["id"],
        message="Stripe refund succeeded",
    )


def test_it_asks_about_a_pending_refund_and_reads_stripes_answer(
    stripe_world: World, stripe_answers: Any
) -> None:
    refund = _refund_of(stripe_world, reference=published("refund")["id"])
    refund.save()
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(hours=1))
    stripe_answers(published("refund"))

    assert reconcile_pending_refunds() == 1

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.order.refunded_minor == 100


def test_it_reads_stripes_published_payment_intent(
    stripe_world: World, stripe_answers: Any
) -> None:
    order = factories.order(stripe_world)
    attempt = order.payment_attempts.get()
    stripe_answers(published("payment_intent"))

    start = get_provider("stripe", stripe_world.checkout).start_payment(attempt)

    assert start.provider_reference == published("payment_intent")["id"]
    assert start.client_secret == published("payment_intent")["client_secret"]
    assert start.redirect_url == ""  # its next_action is no redirect


def _event(type: str, obj: dict[str, Any]) -> bytes:
    """Stripe's published event with one of its published objects in it."""
    event = published("event") | {"type": type, "data": {"object": obj}}
    return json.dumps(event).encode()


def test_it_parses_stripes_published_event_unchanged() -> None:
    event = parse_event(json.dumps(published("event")).encode())

    assert event.kind == "ignored"
    assert event.event_id == published("event")["id"]


def test_it_parses_a_refund_event_with_stripes_published_refund() -> None:
    event = parse_event(_event("refund.updated", published("refund")))

    assert event.kind == "refund_succeeded"
    assert event.refund_reference == published("refund")["id"]
    assert event.amount_minor == published("refund")["amount"]
    assert event.message == ""


def test_an_older_endpoints_charge_refund_updated_is_read_like_refund_updated() -> None:
    failed = published("refund") | {"status": "failed", "failure_reason": "declined"}

    event = parse_event(_event("charge.refund.updated", failed))

    assert event.kind == "refund_failed"
    assert event.refund_reference == published("refund")["id"]
    assert event.message == "declined"


def test_an_event_of_another_api_version_is_handled_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.loads(_event("refund.updated", published("refund")))
    body["api_version"] = "2023-10-16"

    with caplog.at_level("WARNING", logger="orderdesk.payments.providers.stripe"):
        event = parse_event(json.dumps(body).encode())

    assert event.kind == "refund_succeeded"
    assert f"has API version 2023-10-16; the webhook endpoint should use {stripe.api_version}" in (
        caplog.text
    )


def test_an_event_of_the_pinned_version_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    body = json.loads(_event("refund.updated", published("refund")))
    body["api_version"] = stripe.api_version

    with caplog.at_level("WARNING", logger="orderdesk.payments.providers.stripe"):
        parse_event(json.dumps(body).encode())

    assert caplog.text == ""
