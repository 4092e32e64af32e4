"""The refund confirmation emailed to the customer: a credit note with VAT per rate (issue 13)."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from orderdesk.orders.events import Actor, EventType
from orderdesk.orders.models import Order
from orderdesk.payments.models import Refund
from orderdesk.payments.providers.base import RefundResult
from orderdesk.payments.refunds import RefundRequest, check_refund, refund_order
from orderdesk.payments.refunds.confirmation import send_refund_confirmation
from orderdesk.testing import factories
from orderdesk.testing.fake_providers import FakeProvider

Capture = Callable[..., Any]


def refund(order: Order, amounts: dict[int, int], *, notify: bool = True, **options: Any) -> Refund:
    return refund_order(
        order,
        RefundRequest(amounts=amounts, via_provider=True, notify_customer=notify, **options),
        actor=Actor.system(),
        idempotency_key=uuid.uuid4().hex,
    ).refund


def emailed(order: Order) -> list[str]:
    return list(
        order.events.filter(type=EventType.REFUND_EMAILED).values_list("message", flat=True)
    )


def test_it_emails_the_refunded_products_and_the_vat_per_rate(
    world: factories.World, fake: FakeProvider, django_capture_on_commit_callbacks: Capture
) -> None:
    order = factories.order(world, add_ons=(world.bump,), first_name="Maija")
    course, workbook = order.lines.order_by("position")

    with django_capture_on_commit_callbacks(execute=True):
        made = refund(order, {course.pk: 2500, workbook.pk: 900})

    [email] = mail.outbox
    assert (email.to, email.subject) == (
        ["customer@example.com"],
        f"Refund confirmation for order #{order.number}",
    )
    body = email.body
    assert f"We have refunded €34.00 of your order #{order.number}." in body
    assert "  Photography Masterclass: €25.00\n  Workbook PDF: €9.00\n" in body
    # 25.5 %: €16.05 of the course's €79.00 is VAT, €5.08 of the €25.00 refunded.
    assert "  25.5 %: €19.92 + €5.08 = €25.00" in body
    assert "  14 %: €7.89 + €1.11 = €9.00" in body
    assert "Total VAT refunded: €6.19" in body
    assert "Keep this email as the credit note for your order." in body
    made.refresh_from_db()
    assert made.customer_notified_at is not None
    assert emailed(order) == ["Refund confirmation of €34.00 emailed to customer@example.com"]
    # Once per refund, whoever asks again.
    assert send_refund_confirmation(made.pk) is False
    assert len(mail.outbox) == 1


def test_it_emails_nobody_unless_asked_and_never_for_a_failed_refund(
    world: factories.World, fake: FakeProvider, django_capture_on_commit_callbacks: Capture
) -> None:
    quiet, failing = factories.order(world), factories.order(world)

    with django_capture_on_commit_callbacks(execute=True):
        refund(quiet, {quiet.lines.get().pk: 1000}, notify=False)
        fake.answer = RefundResult("failed", message="Stripe: expired card")
        refund(failing, {failing.lines.get().pk: 1000})

    assert mail.outbox == []
    assert emailed(quiet) == emailed(failing) == []


def test_a_pending_refund_is_confirmed_to_the_customer_once_it_is_booked(
    world: factories.World, fake: FakeProvider, django_capture_on_commit_callbacks: Capture
) -> None:
    order = factories.order(world)
    fake.answer = RefundResult("pending", message="Stripe: no answer")
    with django_capture_on_commit_callbacks(execute=True):
        pending = refund(order, {order.lines.get().pk: 7900})
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        check_refund(pending)

    [email] = mail.outbox
    assert "We have refunded €79.00" in email.body


def test_a_recorded_refund_says_so_and_a_failed_send_is_recorded(
    world: factories.World,
    fake: FakeProvider,
    django_capture_on_commit_callbacks: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = factories.order(world, provider="manual", method="invoice")

    def refuse(*args: object, **kwargs: object) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        made = refund(order, {order.lines.get().pk: 7900})

    made.refresh_from_db()
    assert made.customer_notified_at is None
    assert emailed(order) == [
        "The refund confirmation of €79.00 could not be emailed to customer@example.com:"
        " Connection unexpectedly closed"
    ]
    monkeypatch.undo()
    assert send_refund_confirmation(made.pk) is True
    assert "We have recorded a refund of €79.00 on your order" in mail.outbox[0].body
