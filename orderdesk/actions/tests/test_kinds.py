from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from django.core import mail

from orderdesk.actions.kinds.base import ActionError
from orderdesk.actions.kinds.webhook import delivery_id, sign
from orderdesk.actions.models import SnapshotStatus
from orderdesk.actions.services import rerun_action
from orderdesk.actions.tests.builders import paid_order, run_queued, webhook
from orderdesk.actions.tests.conftest import Answer
from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel
from orderdesk.sandboxes.models import SandboxWebhookDelivery
from orderdesk.testing.factories import World


def test_it_signs_webhooks_and_keeps_the_delivery_id_on_reruns(
    world: World, sandboxes: str
) -> None:
    webhook(world, sandboxes)
    order = paid_order(world)
    run_queued(order)
    snapshot = order.action_snapshots.get()
    snapshot.status = SnapshotStatus.FAILED  # as if the receiver had lost it
    snapshot.save()

    rerun_action(snapshot, by=world.alice)
    run_queued(order)

    first, second = SandboxWebhookDelivery.objects.order_by("pk")
    assert first.signature_valid
    assert second.signature_valid
    assert first.delivery_id == second.delivery_id == delivery_id(snapshot)
    assert (first.is_duplicate, second.is_duplicate) == (False, True)
    body = first.body
    assert body["event"] == "order.paid"
    assert body["order"]["number"] == order.number
    assert body["order"]["total_minor"] == order.total_minor
    assert body["customer"]["email"] == "customer@example.com"
    assert [line["name"] for line in body["lines"]] == ["Photography Masterclass"]
    assert body["payments"][0]["provider"] == "stripe"


def test_it_sends_the_signature_over_timestamp_and_body(world: World, answer: Answer) -> None:
    seen = answer(httpx.Response(204))
    webhook(world, "http://hooks.example", secret="s3cret")
    order = paid_order(world)

    run_queued(order)

    [request] = seen
    timestamp = request.headers["X-Orderdesk-Timestamp"]
    assert request.headers["X-Orderdesk-Signature"] == sign("s3cret", timestamp, request.content)
    assert json.loads(request.content)["delivery_id"] == request.headers["X-Orderdesk-Delivery"]


def test_it_rejects_a_receiver_that_refuses_the_signature(world: World, sandboxes: str) -> None:
    webhook(world, sandboxes, secret="not-the-receivers-secret")
    order = paid_order(world)

    [run] = run_queued(order)

    assert run is not None
    assert run.http_status == 401
    assert run.error_message == "Webhook receiver answered 401: Invalid signature"
    assert order.action_snapshots.get().status == SnapshotStatus.FAILED


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [(httpx.Response(404), True), (httpx.Response(429), False), (httpx.Response(503), False)],
)
def test_it_sorts_http_errors_into_permanent_and_transient(
    world: World, answer: Answer, reply: httpx.Response, permanent: bool
) -> None:
    from orderdesk.actions.kinds import http

    answer(reply)

    with pytest.raises(ActionError) as caught:
        http.post("http://x.example/", service="Webhook receiver", content=b"{}", headers={})

    assert caught.value.permanent is permanent
    assert caught.value.http_status == reply.status_code


def test_it_sends_a_receipt_with_products_vat_and_totals(world: World, settings: Any) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout, level=ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT
    )
    order = paid_order(world, add_ons=(world.bump,))

    run_queued(order)

    [message] = mail.outbox
    assert message.to == ["customer@example.com"]
    assert message.subject == f"Your receipt for order #{order.number}"
    assert "Photography Masterclass: €79.00" in message.body
    assert "Workbook PDF (Order bump): €9.00" in message.body
    assert "25.5 %: €62.95 + €16.05 = €79.00" in message.body
    assert "14 %: €7.89 + €1.11 = €9.00" in message.body
    assert "Total VAT: €17.16" in message.body
    assert "Total: €88.00" in message.body


def test_it_sends_a_custom_email_with_placeholders(world: World, settings: Any) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.OFFER,
        offer=world.offer,
        kind=ActionKind.CUSTOM_EMAIL,
        settings={"subject": "Welcome, $first_name", "body": "Order $order_number: ${total}."},
    )
    order = paid_order(world)

    run_queued(order)

    [message] = mail.outbox
    assert message.subject == "Welcome, Maija"
    assert message.body == f"Order {order.number}: €79.00."


def test_it_fails_an_email_to_an_invalid_address_permanently(world: World, settings: Any) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout, level=ActionLevel.CHECKOUT, kind=ActionKind.SEND_RECEIPT
    )
    order = paid_order(world, email="not-an-address")

    [run] = run_queued(order)

    assert run is not None
    assert run.status == "failed"
    assert run.error_message == "Customer email 'not-an-address' is not valid"
    assert not mail.outbox


def test_it_writes_the_receipt_in_the_actions_language(world: World, settings: Any) -> None:
    ActionConfig.objects.create(
        checkout=world.checkout,
        level=ActionLevel.CHECKOUT,
        kind=ActionKind.SEND_RECEIPT,
        settings={"language": "fi"},
    )
    order = paid_order(world, add_ons=(world.bump,))

    run_queued(order)

    [message] = mail.outbox
    assert message.subject == f"Kuittisi tilauksesta #{order.number}"
    assert "Workbook PDF (Kassalisä): 9,00\u00a0€" in message.body
    assert "25,5 %: 62,95\u00a0€ + 16,05\u00a0€ = 79,00\u00a0€" in message.body
    assert "ALV yhteensä: 17,16\u00a0€" in message.body
    assert "Kiitos ostoksestasi." in message.body
