"""The Epassi adapter end to end against the Epassi sandbox, over real HTTP."""

from __future__ import annotations

import html

import httpx
import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from orderdesk.orders.models import Order, OrderStatus
from orderdesk.payments.models import PaymentAttempt, PaymentStatus
from orderdesk.payments.providers.base import PaymentProvider, PaymentStart, ProviderError
from orderdesk.payments.tests.conftest import begin_payment, refund_row, wait_for_stalled_sandbox
from orderdesk.sandboxes import store
from orderdesk.testing.factories import World


def customer_chooses(start: PaymentStart, outcome: str) -> httpx.Response:
    """The browser posts the signed form, picks an outcome, and comes back to the shop."""
    page = httpx.post(start.form_action, data=start.form_fields)
    assert page.status_code == 200
    assert "Epassi sandbox" in page.text
    stamp = start.form_fields["STAMP"]
    pay_url = start.form_action.replace(
        "/e_payments/v2", reverse("sandboxes:epassi-pay", args=[stamp]).split("/epassi")[1]
    )
    chosen = httpx.post(pay_url, data={"outcome": outcome}, headers={"Accept": "application/json"})
    if outcome == "ok":
        back = chosen.json()
        return httpx.post(back["action"], data=back["fields"])
    assert chosen.status_code == 302
    return httpx.get(chosen.headers["location"])


def paid_by_epassi(world: World) -> tuple[Order, PaymentAttempt, PaymentProvider]:
    order, attempt, start, adapter = begin_payment(world, "epassi", "epassi")
    customer_chooses(start, "ok")
    attempt.refresh_from_db()
    return order, attempt, adapter


def test_it_takes_a_benefit_payment_to_completed(sandboxed: World) -> None:
    order, attempt, start, _ = begin_payment(sandboxed, "epassi", "epassi")
    assert (
        start.form_fields["AMOUNT"] == f"{order.total_minor // 100}.{order.total_minor % 100:02d}"
    )

    back = customer_chooses(start, "ok")

    assert back.status_code == 200
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert attempt.status == PaymentStatus.SUCCEEDED


@pytest.mark.parametrize("outcome", ["cancel", "reject"])
def test_it_sends_a_cancelled_or_rejected_payment_back(sandboxed: World, outcome: str) -> None:
    order, _, start, _ = begin_payment(sandboxed, "epassi", "epassi")

    back = customer_chooses(start, outcome)

    assert back.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_PROGRESS


def test_it_rejects_a_form_with_a_bad_mac(sandboxed: World) -> None:
    _, _, start, _ = begin_payment(sandboxed, "epassi", "epassi")
    forged = {**start.form_fields, "AMOUNT": "0.01"}

    page = httpx.post(start.form_action, data=forged)

    assert page.status_code == 302
    assert "error=INVALID_REQUEST_SIGNATURE" in page.headers["location"]


def test_it_refunds_in_full_only(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_epassi(sandboxed)

    with pytest.raises(ProviderError) as partial:
        adapter.refund(attempt, refund_row(attempt, 100))
    full = adapter.refund(attempt, refund_row(attempt, attempt.amount_minor))

    assert partial.value.permanent
    assert "only full refunds" in partial.value.message
    assert full.status == "succeeded"
    assert not adapter.can_refund(partial=True)
    assert adapter.can_refund(partial=False)


def test_it_reports_500_and_timeouts_as_retryable(sandboxed: World) -> None:
    _, attempt, adapter = paid_by_epassi(sandboxed)
    refund = refund_row(attempt, attempt.amount_minor)
    store.add_fault("epassi", "cancel", "500")
    with pytest.raises(ProviderError) as error_500:
        adapter.refund(attempt, refund)
    store.add_fault("epassi", "cancel", "timeout")
    with pytest.raises(ProviderError) as timeout:
        adapter.refund(attempt, refund)
    wait_for_stalled_sandbox()

    assert not error_500.value.permanent
    assert not timeout.value.permanent
    # The cancellation went through while the answer was lost; asking again is harmless.
    assert adapter.refund(attempt, refund).status == "succeeded"


def test_it_knows_sites_configured_only_in_orderdesk(sandboxed: World) -> None:
    from orderdesk.payments.models import ProviderAccount

    ProviderAccount.objects.filter(provider="epassi").update(
        account_id="demo", secret_key="demo-epassi-mac-key"
    )
    order, _, start, _ = begin_payment(sandboxed, "epassi", "epassi")

    assert customer_chooses(start, "ok").status_code == 200

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_a_browser_goes_back_to_the_shop_by_itself_under_the_csp(
    sandboxed: World, browser_page: Page
) -> None:
    order, _, start, _ = begin_payment(sandboxed, "epassi", "epassi")
    page = browser_page
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in start.form_fields.items()
    )
    page.set_content(
        f'<form method="post" action="{start.form_action}">{fields}<button>Pay</button></form>'
    )
    page.click("button")

    page.get_by_role("button", name="Pay with Epassi balance").click()

    # The sandbox's page posts the signed result back without a click, as Epassi's does.
    expect(page.locator("body")).to_contain_text("Thank you")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert refused == []
