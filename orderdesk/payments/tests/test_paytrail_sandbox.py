"""The Paytrail adapter end to end against the Paytrail sandbox, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings
from django.urls import reverse

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus, ProviderNotification
from orderdesk.payments.providers.base import PaymentProvider, ProviderError
from orderdesk.payments.tests.conftest import begin_payment, refund_row, wait_for_stalled_sandbox
from orderdesk.sandboxes import deliveries, store
from orderdesk.testing.factories import World


def choose(href: str, **form: str) -> httpx.Response:
    """The customer on the hosted page, then their browser following the redirect back."""
    hosted = httpx.post(href, data=form)
    assert hosted.status_code == 302
    return httpx.get(hosted.headers["location"])


def paid_by_paytrail(
    world: World, bank: str = "osuuspankki"
) -> tuple[Order, PaymentAttempt, PaymentProvider]:
    order, attempt, start, adapter = begin_payment(world, "paytrail", bank)
    choose(start.redirect_url, provider=bank)
    deliveries.deliver_pending()
    attempt.refresh_from_db()
    return order, attempt, adapter


def test_it_takes_a_bank_payment_to_completed(sandboxed: World) -> None:
    order, _, start, _ = begin_payment(sandboxed, "paytrail", "osuuspankki")
    assert "/sandbox/paytrail/pay/" in start.redirect_url
    assert start.form_fields == {"provider": "osuuspankki"}

    back = choose(start.redirect_url, provider="osuuspankki")

    assert back.status_code == 200
    assert "your payment was received" in back.text
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    events = order.events.count()

    # The server-to-server callback arrives too, and changes nothing more.
    [callback] = deliveries.deliver_pending()
    assert callback.last_status == 200
    assert order.events.count() == events
    assert ProviderNotification.objects.filter(provider="paytrail").count() == 1


def test_it_sends_a_cancelled_payment_back_to_in_progress(sandboxed: World) -> None:
    order, attempt, start, _ = begin_payment(sandboxed, "paytrail", "nordea")

    back = choose(start.redirect_url, outcome="fail")
    deliveries.deliver_pending()

    assert back.status_code == 200
    assert "not completed" in back.text
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS
    assert attempt.status == PaymentStatus.FAILED


def test_it_refunds_partially_and_fully_with_callbacks(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed)
    part = refund_row(attempt, 900)

    first = adapter.refund(attempt, part)
    rest = adapter.refund(attempt, refund_row(attempt, attempt.amount_minor - 900))
    sent = deliveries.deliver_pending()

    assert (first.status, rest.status) == ("succeeded", "succeeded")
    assert [d.last_status for d in sent] == [200, 200]
    callback = ProviderNotification.objects.get(event_id=f"refund:{part.idempotency_key}:ok")
    assert callback.order_id == attempt.order_id
    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund_row(attempt, 1))
    assert excinfo.value.permanent
    assert excinfo.value.http_status == 400


def test_it_answers_a_repeated_refund_stamp_without_refunding_again(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed)
    refund = refund_row(attempt, 900)

    first = adapter.refund(attempt, refund)
    again = adapter.refund(attempt, refund)

    assert again.provider_reference == first.provider_reference
    assert len(store.find("paytrail", "refund", payment=attempt.provider_reference)) == 1


def test_it_follows_a_pending_refund_to_its_callback(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed)
    refund = refund_row(attempt, 900)
    store.add_fault("paytrail", "refund", "pending")

    result = adapter.refund(attempt, refund)
    assert result.status == "pending"
    assert deliveries.deliver_pending() == []
    refund.provider_reference = result.provider_reference
    assert adapter.refund_status(attempt, refund).status == "pending"

    settle = reverse("sandboxes:paytrail-settle", args=[result.provider_reference])
    httpx.post(settings.SITE_URL + settle, data={"outcome": "fail"})
    [callback] = deliveries.deliver_pending()

    assert callback.last_status == 200
    assert ProviderNotification.objects.filter(event_id=f"refund:{refund.idempotency_key}:fail")
    assert adapter.refund_status(attempt, refund).status == "failed"


@pytest.mark.parametrize("bank", ["spankki", "alandsbanken"])
def test_it_reports_banks_without_api_refunds(sandboxed: World, bank: str) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed, bank)

    with pytest.raises(ProviderError) as excinfo:
        adapter.refund(attempt, refund_row(attempt, 900))

    assert excinfo.value.permanent
    assert excinfo.value.http_status == 422
    assert "does not support refunds" in excinfo.value.message


def test_it_reports_500_and_timeouts_as_retryable(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_paytrail(sandboxed)
    refund = refund_row(attempt, 900)
    store.add_fault("paytrail", "refund", "500")
    with pytest.raises(ProviderError) as error_500:
        adapter.refund(attempt, refund)
    store.add_fault("paytrail", "refund", "timeout")
    with pytest.raises(ProviderError) as timeout:
        adapter.refund(attempt, refund)
    wait_for_stalled_sandbox()

    assert not error_500.value.permanent
    assert not timeout.value.permanent
    # The timed-out request went through; the same refundStamp gets the same refund back.
    assert adapter.refund(attempt, refund).status == "succeeded"
    assert len(store.find("paytrail", "refund", payment=attempt.provider_reference)) == 1


def test_it_rejects_a_bad_secret_with_the_providers_message(sandboxed: World) -> None:
    from orderdesk.payments.models import ProviderAccount

    ProviderAccount.objects.filter(provider="paytrail").update(secret_key="wrong-secret")
    with pytest.raises(ProviderError) as excinfo:
        begin_payment(sandboxed, "paytrail")
    assert excinfo.value.permanent
    assert excinfo.value.http_status == 401
    assert "wrong-secret" not in excinfo.value.message
