"""The Stripe adapter end to end against the Stripe sandbox, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
import stripe as stripe_sdk
from django.conf import settings
from django.urls import reverse

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    ProviderAccount,
    ProviderNotification,
)
from orderdesk.payments.providers.base import PaymentProvider, ProviderError
from orderdesk.payments.tests.conftest import begin_payment, refund_row, wait_for_stalled_sandbox
from orderdesk.sandboxes import deliveries, store
from orderdesk.sandboxes.models import SandboxDelivery
from orderdesk.sandboxes.stripe import account_of, published
from orderdesk.testing.factories import World


def pay(url: str, outcome: str) -> None:
    response = httpx.post(url, data={"outcome": outcome}, headers={"Accept": "application/json"})
    assert response.status_code == 200


def paid_by_stripe(world: World) -> tuple[Order, PaymentAttempt, PaymentProvider]:
    order, attempt, start, adapter = begin_payment(world, "stripe")
    pay(start.redirect_url, "succeed")
    deliveries.deliver_pending()
    attempt.refresh_from_db()
    return order, attempt, adapter


def test_it_takes_a_card_payment_to_completed(sandboxed: World) -> None:
    order, attempt, start, _ = begin_payment(sandboxed, "stripe")
    assert start.provider_reference.startswith("pi_")
    assert start.client_secret.startswith(start.provider_reference)
    assert "/sandbox/stripe/pay/" in start.redirect_url

    pay(start.redirect_url, "succeed")
    sent = deliveries.deliver_pending()

    assert [d.last_status for d in sent] == [200, 200]  # created, succeeded
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert attempt.status == PaymentStatus.SUCCEEDED


def test_it_stores_the_charge_id_of_a_paid_intent(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)

    intent = store.get("stripe", "payment_intent", attempt.provider_reference)

    assert intent is not None
    assert attempt.charge_reference.startswith("ch_")
    assert attempt.charge_reference == intent["latest_charge"]


def test_a_replayed_success_stores_a_charge_id_the_first_did_not_name(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)
    charge = attempt.charge_reference
    PaymentAttempt.objects.filter(pk=attempt.pk).update(charge_reference="")
    order = attempt.order
    events = order.events.count()

    for notification in ProviderNotification.objects.all():
        notification.delete()
    sent = deliveries.deliver_pending() + [
        deliveries.send(d) for d in SandboxDelivery.objects.all()
    ]

    assert sent
    attempt.refresh_from_db()
    assert attempt.charge_reference == charge
    assert attempt.status == PaymentStatus.SUCCEEDED
    assert order.events.count() == events


def test_it_sends_a_declined_card_back_to_in_progress(sandboxed: World) -> None:
    order, attempt, start, _ = begin_payment(sandboxed, "stripe")

    pay(start.redirect_url, "decline")
    deliveries.deliver_pending()

    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert attempt.status == PaymentStatus.FAILED
    assert attempt.failure_message == "Your card was declined."


def test_it_changes_nothing_when_a_webhook_is_replayed(sandboxed: World) -> None:
    order, _, start, _ = begin_payment(sandboxed, "stripe")
    pay(start.redirect_url, "succeed")
    deliveries.deliver_pending()
    order.refresh_from_db()
    events = order.events.count()
    notifications = ProviderNotification.objects.count()

    for delivery in SandboxDelivery.objects.all():
        response = deliveries.send(delivery)
        assert response is not None
        assert response.status_code == 200
        assert response.json()["replay"] is True

    assert order.events.count() == events
    assert ProviderNotification.objects.count() == notifications


def test_it_refunds_partially_then_fully(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)

    first = adapter.refund(attempt, refund_row(attempt, 1000))
    rest = adapter.refund(attempt, refund_row(attempt, attempt.amount_minor - 1000))

    assert first.status == "succeeded"
    assert first.provider_reference.startswith("re_")
    assert rest.status == "succeeded"
    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund_row(attempt, 1))
    assert excinfo.value.permanent
    assert "already been refunded" in excinfo.value.message


def test_it_refuses_to_refund_more_than_was_paid(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)

    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund_row(attempt, attempt.amount_minor + 1))

    assert excinfo.value.permanent
    assert "greater than unrefunded amount" in excinfo.value.message


def test_it_never_refunds_twice_for_one_refund_row(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    refund = refund_row(attempt, 500)

    first = adapter.refund(attempt, refund)
    again = adapter.refund(attempt, refund)

    assert again.provider_reference == first.provider_reference
    assert len(store.find("stripe", "refund", payment_intent=attempt.provider_reference)) == 1

    refund.amount_minor = 600  # the same key with other parameters: Stripe's 400
    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund)
    assert excinfo.value.permanent
    assert excinfo.value.http_status == 400
    assert "can only be used with the same parameters" in excinfo.value.message


def test_it_reports_a_500_as_retryable_and_the_retry_succeeds(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    refund = refund_row(attempt, 500)
    store.add_fault("stripe", "refunds.create", "500")

    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund)

    assert not excinfo.value.permanent
    assert adapter.refund(attempt, refund).status == "succeeded"


def test_it_finds_a_refund_whose_answer_timed_out(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    refund = refund_row(attempt, 700)
    store.add_fault("stripe", "refunds.create", "timeout")

    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund)
    assert not excinfo.value.permanent
    assert "in time" in excinfo.value.message
    wait_for_stalled_sandbox()

    status = adapter.refund_status(attempt, refund)
    retried = adapter.refund(attempt, refund)

    assert status.status == "succeeded"
    assert retried.provider_reference == status.provider_reference
    assert len(store.find("stripe", "refund", payment_intent=attempt.provider_reference)) == 1


def test_it_follows_a_pending_refund_to_failure(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    refund = refund_row(attempt, 700)
    store.add_fault("stripe", "refunds.create", "pending")

    result = adapter.refund(attempt, refund)
    assert result.status == "pending"
    refund.provider_reference = result.provider_reference
    settle = reverse("sandboxes:stripe-settle", args=[result.provider_reference])
    httpx.post(settings.SITE_URL + settle, data={"outcome": "failed"})
    deliveries.deliver_pending()

    assert adapter.refund_status(attempt, refund).status == "failed"
    failed = ProviderNotification.objects.get(event_type="refund.failed")
    assert failed.order_id == attempt.order_id


def test_it_reports_a_payment_intent_500_as_retryable(sandboxed: World) -> None:
    store.add_fault("stripe", "payment_intents.create", "500")
    with pytest.raises(ProviderError) as excinfo:
        begin_payment(sandboxed, "stripe")
    assert not excinfo.value.permanent


def test_it_keeps_the_secret_key_out_of_errors(sandboxed: World) -> None:
    ProviderAccount.objects.filter(provider="stripe").update(secret_key="sk_live_not_a_test_key")
    with pytest.raises(ProviderError) as excinfo:
        begin_payment(sandboxed, "stripe")
    assert excinfo.value.permanent
    assert "sk_live_not_a_test_key" not in excinfo.value.message


def test_it_fails_the_attempt_when_the_provider_refuses_to_start(sandboxed: World) -> None:
    store.add_fault("stripe", "payment_intents.create", "500")

    with pytest.raises(ProviderError):
        begin_payment(sandboxed, "stripe")

    attempt = PaymentAttempt.objects.get()
    attempt.order.refresh_from_db()
    assert attempt.status == PaymentStatus.FAILED
    assert attempt.order.status == OrderStatus.IN_PROGRESS  # the customer may try again


def test_it_delivers_to_accounts_configured_only_in_orderdesk(sandboxed: World) -> None:
    # Credentials like the demo's: never registered at the sandbox, yet its merchant.
    ProviderAccount.objects.filter(provider="stripe").update(
        secret_key="sk_test_demo", webhook_secret="whsec_demo"
    )
    order, _, start, _ = begin_payment(sandboxed, "stripe")

    pay(start.redirect_url, "succeed")
    deliveries.deliver_pending()

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


# Stripe's published behaviour (issue 12): idempotency, object shapes, events.


def _raw(path: str, data: dict[str, str], key: str) -> httpx.Response:
    """A request to the sandbox's API as Stripe's own clients send it."""
    secret = ProviderAccount.objects.get(provider="stripe").secret("secret_key")
    return httpx.post(
        f"{settings.STRIPE_API_BASE}/v1/{path}",
        data=data,
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key},
    )


def test_a_key_reused_with_other_parameters_is_a_400_idempotency_error(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)
    first = _raw("refunds", {"payment_intent": attempt.provider_reference, "amount": "100"}, "k1")

    other = _raw("refunds", {"payment_intent": attempt.provider_reference, "amount": "200"}, "k1")

    assert first.status_code == 200
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert "Idempotent-Replayed" not in other.headers
    assert len(store.find("stripe", "refund", payment_intent=attempt.provider_reference)) == 1


def test_a_key_still_running_is_a_409(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)
    account = _raw("refunds", {}, "probe").request.headers["Authorization"]
    slot = f"{account_of(account.removeprefix('Bearer '))}:k2"
    store.put("stripe", "idempotency", slot, {"fingerprint": "x", "running": True})

    answer = _raw("refunds", {"payment_intent": attempt.provider_reference}, "k2")

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_key_in_use"
    assert store.find("stripe", "refund", payment_intent=attempt.provider_reference) == []


def test_an_error_once_the_endpoint_ran_is_kept_and_replayed(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)
    too_much = {"payment_intent": attempt.provider_reference, "amount": "99999999"}

    first = _raw("refunds", too_much, "k3")
    again = _raw("refunds", too_much, "k3")

    assert first.status_code == again.status_code == 400
    assert first.json()["error"]["code"] == "amount_too_large"
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_parameters_that_fail_validation_keep_nothing_for_the_key(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)

    bad = _raw("refunds", {"payment_intent": attempt.provider_reference, "bogus": "1"}, "k4")
    fixed = _raw("refunds", {"payment_intent": attempt.provider_reference}, "k4")

    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "type": "invalid_request_error",
        "message": "Received unknown parameter: bogus",
        "param": "bogus",
    }
    assert fixed.status_code == 200
    assert "Idempotent-Replayed" not in fixed.headers


def test_a_500_before_the_endpoint_ran_is_not_replayed(sandboxed: World) -> None:
    _, attempt, _ = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "500")
    params = {"payment_intent": attempt.provider_reference, "amount": "100"}

    failed = _raw("refunds", params, "k5")
    retried = _raw("refunds", params, "k5")

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers


def _published_keys(kind: str) -> set[str]:
    return set(published(kind))


def test_objects_have_the_fields_stripe_publishes_and_no_others(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    store.add_fault("stripe", "refunds.create", "pending")
    pending = adapter.refund(attempt, refund_row(attempt, 300))
    done = adapter.refund(attempt, refund_row(attempt, 400))

    intent = _raw("payment_intents", {"amount": "100", "currency": "eur"}, "k6").json()
    refund = store.get("stripe", "refund", done.provider_reference)
    waiting = store.get("stripe", "refund", pending.provider_reference)

    assert refund is not None
    assert waiting is not None
    assert set(intent) == _published_keys("payment_intent")
    assert {k for k in refund if not k.startswith("_")} == _published_keys("refund")
    assert "failure_reason" not in refund
    assert {k for k in waiting if not k.startswith("_")} == _published_keys("refund") | {
        "pending_reason"
    }


def test_a_refund_that_succeeded_can_fail_later(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_stripe(sandboxed)
    refund = refund_row(attempt, 700)
    result = adapter.refund(attempt, refund)
    refund.provider_reference = result.provider_reference
    deliveries.deliver_pending()
    settle = reverse("sandboxes:stripe-settle", args=[result.provider_reference])

    answer = httpx.post(settings.SITE_URL + settle, data={"outcome": "failed"})

    assert answer.json()["status"] == "failed"
    assert answer.json()["failure_reason"] == "expired_or_canceled_card"
    status = adapter.refund_status(attempt, refund)
    assert status.status == "failed"
    assert "expired_or_canceled_card" in status.message
    intent = store.get("stripe", "payment_intent", attempt.provider_reference)
    assert intent is not None
    assert intent["_refunded"] == 0
    events = [e["type"] for e in store.find("stripe", "event")]
    assert events[-2:] == ["refund.updated", "refund.failed"]


def test_events_carry_the_api_version_of_the_pinned_sdk(sandboxed: World) -> None:
    paid_by_stripe(sandboxed)

    versions = {e["api_version"] for e in store.find("stripe", "event")}

    assert versions == {stripe_sdk.api_version}
    assert {n.payload["api_version"] for n in ProviderNotification.objects.all()} == versions
