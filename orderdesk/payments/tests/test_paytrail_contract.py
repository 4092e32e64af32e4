"""The Paytrail adapter against Paytrail's published contract (issue 12, finding 5).

Every request the adapter sends is validated against Paytrail's OpenAPI document, vendored in
`orderdesk/sandboxes/provider_specs/paytrail/`, with its schemas closed (an unknown property
or `checkout-*` header fails) and the headers the README requires. The requests go over real
HTTP to the Paytrail sandbox; they are copied on their way out (`sent`). The adapter is also
fed Paytrail's documented example answers and callback unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone

from orderdesk.orders.events import Actor
from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, ProviderAccount, RefundLine, RefundStatus
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.providers.paytrail import Paytrail, calculate_signature
from orderdesk.payments.refunds import RefundRequest, refund_order
from orderdesk.payments.refunds.reconcile import check_refund
from orderdesk.payments.tests.conftest import refund_row
from orderdesk.payments.tests.test_paytrail_sandbox import paid_by_paytrail
from orderdesk.sandboxes import deliveries, openapi, store
from orderdesk.testing import factories
from orderdesk.testing.factories import World

SPEC = Path(openapi.SPECS) / "paytrail"
EXAMPLES = SPEC / "examples"
REQUIRED: tuple[str, ...] = (
    "checkout-account",
    "checkout-algorithm",
    "checkout-method",
    "checkout-nonce",
    "checkout-timestamp",
    "signature",
)
OPERATIONS = [
    ("POST", "/payments", REQUIRED),
    ("GET", "/payments/{transactionId}", (*REQUIRED, "checkout-transaction-id")),
    ("POST", "/payments/{transactionId}/refund", (*REQUIRED, "checkout-transaction-id")),
]


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def contract_errors(request: Sent) -> list[str]:
    """What `request` breaks of Paytrail's document, closed, and the README's headers."""
    path = request.path.removeprefix(urlsplit(settings.PAYTRAIL_API_BASE).path)
    for method, template, required in OPERATIONS:
        parts, pattern = path.strip("/").split("/"), template.strip("/").split("/")
        if method != request.method or len(parts) != len(pattern):
            continue
        params = {p[1:-1]: v for p, v in zip(pattern, parts, strict=True) if p.startswith("{")}
        if all(p.startswith("{") or p == v for p, v in zip(pattern, parts, strict=True)):
            return openapi.request_errors(
                "paytrail",
                template,
                method,
                headers=request.headers,
                path_params=params,
                body=request.body or None,
                required_headers=required,
                closed=True,
            )
    return [f"{request.method} {path} is not an operation of Paytrail's document"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sent]]:
    """Every request the adapter sends to Paytrail, still sent over HTTP; all validated at the
    end of the test, so no test of this module lets a request outside the contract pass."""
    requests: list[Sent] = []
    real = httpx.request

    def spy(method: str, url: str, **kwargs: Any) -> httpx.Response:
        if url.startswith(settings.PAYTRAIL_API_BASE):
            headers = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
            body = kwargs.get("content") or b""
            requests.append(Sent(method, urlsplit(url).path, headers, body))
        return real(method, url, **kwargs)

    monkeypatch.setattr(httpx, "request", spy)
    yield requests
    assert requests, "the test sent nothing to Paytrail"
    for request in requests:
        assert contract_errors(request) == [], request


def sandbox_payment(attempt: PaymentAttempt) -> dict[str, Any]:
    found = store.get("paytrail", "payment", attempt.provider_reference)
    assert found is not None
    return found


def shop_in_shop(world: World) -> ProviderAccount:
    """The checkout's Paytrail account as Paytrail's Shop-in-Shop test aggregate."""
    account = ProviderAccount.objects.get(checkout=world.checkout, provider="paytrail")
    account.account_id = "695861"
    account.secret_key = "MONISAIPPUAKAUPPIAS"
    account.paytrail_shop_in_shop_merchant = "695874"
    account.full_clean()
    account.save()
    return account


def refund_lines(order: Order, amounts: dict[int, int]) -> Any:
    return refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=True),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def test_a_normal_merchant_refunds_a_product_by_amount(sandboxed: World, sent: list[Sent]) -> None:
    order, attempt, _ = paid_by_paytrail(sandboxed)
    line = order.lines.get()
    assert line.stamp  # item refunds would have been possible: the adapter must not use them

    refund = refund_lines(order, {line.pk: 900})
    deliveries.deliver_pending()

    [body] = [r.json for r in sent if r.path.endswith("/refund")]
    assert body["amount"] == 900
    assert "items" not in body
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    # The per-product split stays in Orderdesk.
    assert list(
        RefundLine.objects.filter(refund=refund).values_list("order_line", "amount_minor")
    ) == [(line.pk, 900)]
    line.refresh_from_db()
    assert line.refunded_minor == 900
    [payment] = [r.json for r in sent if r.path.endswith("/payments")]
    assert all(
        set(item) <= {"unitPrice", "units", "vatPercentage", "productCode", "description"}
        for item in payment["items"]
    )
    assert sandbox_payment(attempt)["refunded"] == 900


def test_a_shop_in_shop_aggregate_sends_items_and_their_sum(
    sandboxed: World, sent: list[Sent]
) -> None:
    shop_in_shop(sandboxed)
    order, attempt, _ = paid_by_paytrail(sandboxed)
    line = order.lines.get()

    refund = refund_lines(order, {line.pk: 900})
    deliveries.deliver_pending()

    [payment] = [r.json for r in sent if r.path.endswith("/payments")]
    [item] = payment["items"]
    assert (item["merchant"], item["stamp"]) == ("695874", line.stamp)
    [body] = [r.json for r in sent if r.path.endswith("/refund")]
    assert body["items"] == [{"amount": 900, "stamp": line.stamp, "reference": item["reference"]}]
    assert body["amount"] == 900
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert sandbox_payment(attempt)["refunded"] == 900


def test_a_shop_in_shop_refund_without_products_is_refused_before_paytrail(
    sandboxed: World, sent: list[Sent]
) -> None:
    shop_in_shop(sandboxed)
    _, attempt, adapter = paid_by_paytrail(sandboxed)

    with pytest.raises(ProviderError, match="Shop-in-Shop refunds need the refunded products"):
        adapter.refund(attempt, refund_row(attempt, 900))

    assert [r.path for r in sent if r.path.endswith("/refund")] == []


def test_a_pending_refund_is_asked_about_within_the_contract(
    sandboxed: World, sent: list[Sent]
) -> None:
    order, _, _ = paid_by_paytrail(sandboxed)
    store.add_fault("paytrail", "refund", "pending")
    refund = refund_lines(order, {order.lines.get().pk: 900})
    assert refund.status == RefundStatus.PENDING

    check_refund(refund)

    assert [r.method for r in sent] == ["POST", "POST", "GET"]


# The negative side: the closed contract catches what Paytrail's open document lets through.


def valid_refund() -> Sent:
    headers = {
        "checkout-account": "375917",
        "checkout-algorithm": "sha256",
        "checkout-method": "POST",
        "checkout-nonce": uuid.uuid4().hex,
        "checkout-timestamp": "2026-12-05T10:00:00.000+00:00",
        "checkout-transaction-id": "258ad3a5-9711-44c3-be65-64a0ef462ba3",
        "signature": "0" * 64,
    }
    body = {
        "amount": 900,
        "refundStamp": "od-1-abc",
        "refundReference": "1",
        "callbackUrls": {"success": "https://example.org/s", "cancel": "https://example.org/c"},
    }
    path = urlsplit(settings.PAYTRAIL_API_BASE).path
    return Sent(
        "POST",
        f"{path}/payments/258ad3a5-9711-44c3-be65-64a0ef462ba3/refund",
        headers,
        json.dumps(body).encode(),
    )


def changed(request: Sent, change: Callable[[dict[str, Any]], None]) -> Sent:
    body = request.json
    change(body)
    return Sent(request.method, request.path, request.headers, json.dumps(body).encode())


def test_the_closed_contract_refuses_an_unknown_or_missing_field() -> None:
    assert contract_errors(valid_refund()) == []

    unknown = changed(valid_refund(), lambda b: b.update(refundAmount=900))
    missing = changed(valid_refund(), lambda b: b.pop("callbackUrls"))
    items = changed(valid_refund(), lambda b: b.update(items=[{"amount": 900, "stamp": "s"}]))
    header = Sent(
        "POST", valid_refund().path, {**valid_refund().headers, "checkout-amount": "1"}, b"{}"
    )

    assert "refundAmount" in " ".join(contract_errors(unknown))
    # Paytrail's own schemas are open: without closing them the unknown field would pass.
    assert openapi.schema_errors("paytrail", "#/components/schemas/Refund", unknown.json) == []
    assert contract_errors(missing) == ["(body): 'callbackUrls' is a required property"]
    assert contract_errors(items) == ["items.0: 'reference' is a required property"]
    assert "header checkout-amount" in " ".join(contract_errors(header))
    no_nonce = {k: v for k, v in valid_refund().headers.items() if k != "checkout-nonce"}
    assert contract_errors(Sent("POST", valid_refund().path, no_nonce, valid_refund().body)) == [
        "header checkout-nonce: missing"
    ]


def test_the_sandbox_answers_400_in_paytrails_shape_where_paytrail_would(
    sandboxed: World,
) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed)
    assert isinstance(adapter, Paytrail)
    path = f"/payments/{attempt.provider_reference}/refund"
    callbacks = {"success": "https://example.org/s", "cancel": "https://example.org/c"}

    cases: dict[str, dict[str, Any]] = {
        "amount: required for normal payment refunds": {"callbackUrls": callbacks},
        "items: only for Shop-in-Shop refunds": {
            "amount": 900,
            "items": [{"amount": 900, "stamp": "s", "reference": "r"}],
            "callbackUrls": callbacks,
        },
        "(body): 'callbackUrls' is a required property": {"amount": 900},
        "amount: 0 is less than the minimum of 1": {"amount": 0, "callbackUrls": callbacks},
    }
    for meta, body in cases.items():
        with pytest.raises(ProviderError) as error:
            adapter._request("POST", path, body, transaction_id=attempt.provider_reference)
        assert error.value.http_status == 400
        assert error.value.message == f"Paytrail: Request did not pass input validation: {meta}"
    assert sandbox_payment(attempt)["refunded"] == 0


def test_the_sandbox_refuses_a_malformed_header(sandboxed: World) -> None:
    _, attempt, _ = paid_by_paytrail(sandboxed)
    account_id, secret = "375917", "SAIPPUAKAUPPIAS"
    headers = {
        "checkout-account": account_id,
        "checkout-algorithm": "sha256",
        "checkout-method": "GET",
        "checkout-nonce": "n",
        "checkout-timestamp": "yesterday",
        "checkout-transaction-id": attempt.provider_reference,
    }
    headers["signature"] = calculate_signature(headers, "", secret)
    url = f"{settings.PAYTRAIL_API_BASE}/payments/{attempt.provider_reference}"

    answer = httpx.get(url, headers=headers)

    assert answer.status_code == 400
    assert answer.json() == {
        "status": "error",
        "message": "Request did not pass input validation",
        "meta": ["header checkout-timestamp: 'yesterday' is not a 'date-time'"],
    }


# Paytrail's documented examples, fed to the adapter unchanged.


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


@pytest.fixture
def test_merchant(world: World, settings: Any) -> Paytrail:
    """The adapter with Paytrail's published test merchant, whose secret signs the examples."""
    settings.PAYTRAIL_API_BASE = "https://services.paytrail.com"
    account = ProviderAccount.objects.create(
        checkout=world.checkout,
        provider="paytrail",
        account_id="375917",
        secret_key="SAIPPUAKAUPPIAS",
    )
    return Paytrail(world.checkout, account)


def answer_with(monkeypatch: pytest.MonkeyPatch, status: int, body: bytes) -> list[Sent]:
    """Paytrail answering `body` (signed as Paytrail signs answers) to the next request."""
    requests: list[Sent] = []

    def answer(method: str, url: str, **kwargs: Any) -> httpx.Response:
        requests.append(
            Sent(method, urlsplit(url).path, dict(kwargs["headers"]), kwargs["content"])
        )
        headers = {
            "checkout-account": "375917",
            "checkout-algorithm": "sha256",
            "checkout-nonce": "e8c5e8b2-2b1b-4c59-9d0a-2a0d3c1d4f11",
            "checkout-timestamp": "2026-12-05T10:00:00.000Z",
            "request-id": "1",
        }
        headers["signature"] = calculate_signature(headers, body.decode(), "SAIPPUAKAUPPIAS")
        return httpx.Response(status, content=body, headers=headers)

    monkeypatch.setattr(httpx, "request", answer)
    return requests


def paid_attempt(
    world: World, reference: str = "681538c4-fc84-11e9-83bc-2ffcef4c3453"
) -> PaymentAttempt:
    order = factories.order(world, provider="paytrail", method="nordea")
    attempt = order.payment_attempts.get()
    attempt.provider_reference = reference
    attempt.save(update_fields=["provider_reference"])
    return attempt


def test_the_documented_create_payment_answer_starts_the_payment(
    test_merchant: Paytrail, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = answer_with(monkeypatch, 201, example("create-payment-response.json"))
    order = factories.order(world, status=OrderStatus.IN_PROGRESS)
    attempt = PaymentAttempt.objects.create(
        order=order,
        provider="paytrail",
        method="pivo",
        amount_minor=order.total_minor,
        currency="EUR",
        stamp=uuid.uuid4().hex,
        created_at=timezone.now(),
    )

    start = test_merchant.start_payment(attempt)

    documented = json.loads(example("create-payment-response.json"))
    assert start.provider_reference == "5770642a-9a02-4ca2-8eaa-cc6260a78eb6"
    assert start.redirect_url == documented["href"]
    [pivo] = [p for p in documented["providers"] if p["id"] == "pivo"]
    assert start.form_action == pivo["url"]
    assert start.form_fields == {p["name"]: p["value"] for p in pivo["parameters"]}
    assert [contract_errors(r) for r in requests] == [[]]


@pytest.mark.parametrize(
    ("name", "status"),
    [("refund-response-ok.json", "succeeded"), ("refund-response-pending.json", "pending")],
)
def test_the_documented_refund_answers_are_read(
    test_merchant: Paytrail,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    status: str,
) -> None:
    requests = answer_with(monkeypatch, 201, example(name))
    attempt = paid_attempt(world)

    result = test_merchant.refund(attempt, refund_row(attempt, 900))

    assert (result.status, result.provider_reference) == (
        status,
        "258ad3a5-9711-44c3-be65-64a0ef462ba3",
    )
    assert [contract_errors(r) for r in requests] == [[]]
    assert requests[0].json["amount"] == 900


def test_the_documented_payment_answer_is_read_as_a_refund_still_pending(
    test_merchant: Paytrail, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = answer_with(monkeypatch, 200, example("get-payment-response.json"))
    attempt = paid_attempt(world)
    refund = refund_row(attempt, 900)
    refund.provider_reference = "681538c4-fc84-11e9-83bc-2ffcef4c3453"

    result = test_merchant.refund_status(attempt, refund)

    # The example's transaction is "new": not finished, so the refund stays pending.
    assert result.status == "pending"
    assert [contract_errors(r) for r in requests] == [[]]


def documented_callback() -> dict[str, str]:
    query = urlsplit(example("callback-query.txt").decode().strip()).query
    return dict(pair.split("=", 1) for pair in query.split("&"))


def test_the_documented_callback_is_verified_and_read(test_merchant: Paytrail) -> None:
    request = RequestFactory().get("/callback/", documented_callback())

    event = test_merchant.parse_notification(request)

    assert (event.kind, event.payment_reference, event.amount_minor, event.method) == (
        "payment_succeeded",
        "4b300af6-9a22-11e8-9184-abb6de7fd2d0",
        2964,
        "nordea",
    )
    refund = test_merchant.parse_refund_callback(request)
    assert (refund.kind, refund.refund_key, refund.refund_reference) == (
        "refund_succeeded",
        "15336332710015",
        "4b300af6-9a22-11e8-9184-abb6de7fd2d0",
    )
