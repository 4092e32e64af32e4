"""The refund confirmation emailed to the customer: a credit note they can keep (issue 13).

Sent when a refund is booked (the provider returned the money, staff confirmed it did, or the
refund was recorded) and the merchant asked for it in the Refund dialog or the API
(`notify_customer`). It lists the refunded products and the VAT refunded per rate, and the
timeline records it. The email leaves after the booking's transaction commits, never under
the order lock; it goes once per refund, and a failure is recorded, not raised: the refund
stands either way.
"""

from __future__ import annotations

import logging
import smtplib
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from orderdesk.lib.money import format_money
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.pricing import VatRow, refund_line_vat, vat_breakdown
from orderdesk.payments.models import Refund, RefundLine, RefundStatus

log = logging.getLogger(__name__)


def line_vat(refund_line: RefundLine) -> int:
    """The VAT in a refund line: as booked (`RefundLine.vat_minor`, what the reports count),
    or, for a line not booked yet, as if it were the line's first refund."""
    if refund_line.vat_minor is not None:
        return refund_line.vat_minor
    line = refund_line.order_line
    return refund_line_vat(line.vat_minor, line.total_minor, 0, refund_line.amount_minor)


def refunded_vat(refund: Refund) -> list[VatRow]:
    """The VAT the refund gives back, per rate."""
    return vat_breakdown(
        (refund_line.order_line.vat_rate, refund_line.amount_minor, line_vat(refund_line))
        for refund_line in refund.lines.select_related("order_line")
    )


def confirmation_text(refund: Refund) -> tuple[str, str]:
    """The email's subject and body."""
    order = refund.order
    currency = refund.currency
    amount = format_money(refund.amount_minor, currency)
    rows = [
        f"Hello {order.first_name},".replace(" ,", ","),
        "",
        f"We have refunded {amount} of your order #{order.number}."
        if refund.via_provider
        else f"We have recorded a refund of {amount} on your order #{order.number}.",
        "",
        "Refunded products:",
    ]
    for refund_line in refund.lines.select_related("order_line").order_by("order_line__position"):
        rows.append(
            f"  {refund_line.order_line.name}: {format_money(refund_line.amount_minor, currency)}"
        )
    rows += ["", "VAT refunded (rate: net + VAT = gross):"]
    vat_rows = refunded_vat(refund)
    for vat in vat_rows:
        rows.append(
            f"  {vat.rate.normalize()} %: {format_money(vat.net_minor, currency)}"
            f" + {format_money(vat.vat_minor, currency)} = {format_money(vat.gross_minor, currency)}"
        )
    rows += [
        f"Total VAT refunded: {format_money(sum(v.vat_minor for v in vat_rows), currency)}",
        f"Total refunded: {amount}",
        "",
        f"Refund date: {timezone.localtime(refund.settled_at or timezone.now()):%Y-%m-%d}",
        f"Refund reference: {order.number}-R{refund.pk}",
        "",
        "Keep this email as the credit note for your order.",
    ]
    return f"Refund confirmation for order #{order.number}", "\n".join(rows)


def schedule_confirmation(refund: Refund) -> None:
    """Email the confirmation once the booking commits, if the merchant asked for it."""
    if refund.notify_customer and refund.customer_notified_at is None:
        transaction.on_commit(partial(send_refund_confirmation, refund.pk))


def send_refund_confirmation(refund_id: int) -> bool:
    """Send one refund's confirmation, once; record it (or why it failed) on the timeline.

    The refund is claimed with a conditional UPDATE before the email leaves, so two callers
    never both send it and no row is locked while the mail server answers; a failed send
    gives the claim back.
    """
    claimed = Refund.objects.filter(
        pk=refund_id,
        notify_customer=True,
        customer_notified_at__isnull=True,
        status__in=RefundStatus.BOOKED,
    ).update(customer_notified_at=timezone.now())
    if not claimed:
        return False
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    order = refund.order
    subject, body = confirmation_text(refund)
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "orderdesk.local"
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer_email],
        headers={"Message-ID": f"<order-{order.pk}.refund-{refund.pk}@{domain}>"},
    )
    amount = format_money(refund.amount_minor, refund.currency)
    try:
        message.send()
    except (smtplib.SMTPException, OSError, ValueError) as error:
        log.warning("Refund %s confirmation not sent: %s", refund.pk, error)
        Refund.objects.filter(pk=refund.pk).update(customer_notified_at=None)
        record_event(
            order,
            type=EventType.REFUND_EMAILED,
            message=f"The refund confirmation of {amount} could not be emailed to"
            f" {order.customer_email}: {str(error)[:200]}",
            actor=Actor.system(),
            data={"refund_id": refund.pk, "sent": False},
        )
        return False
    record_event(
        order,
        type=EventType.REFUND_EMAILED,
        message=f"Refund confirmation of {amount} emailed to {order.customer_email}",
        actor=Actor.system(),
        data={"refund_id": refund.pk, "sent": True},
    )
    return True
