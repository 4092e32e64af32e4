"""Send receipt email and custom email, through Django's configured email backend."""

from __future__ import annotations

import smtplib
from string import Template
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _

from orderdesk.actions.kinds import http
from orderdesk.actions.kinds.base import ActionError, ActionResult, Kind
from orderdesk.lib import formats
from orderdesk.orders.pricing import vat_breakdown

if TYPE_CHECKING:
    from orderdesk.actions.models import ActionRun, ActionSnapshot
    from orderdesk.orders.models import Order


def money(amount_minor: int, currency: str) -> str:
    """In the active language: the receipt's (`customer_language`)."""
    return formats.money(amount_minor, currency)


def customer_language(snapshot: ActionSnapshot) -> str:
    """The language of emails to customers: the action's `language` setting (en, fi, sv),
    English when unset or unknown. The checkout does not tell the customer's language, so
    the merchant chooses it with the action."""
    language = str(snapshot.settings.get("language") or "")
    return language if language in dict(settings.LANGUAGES) else "en"


def receipt_text(order: Order) -> str:
    """The receipt in the active language."""
    lines = list(order.lines.all())
    rows = [_("Receipt for order #%(number)s") % {"number": order.number}, ""]
    for line in lines:
        marker = "" if line.kind == "main" else f" ({line.get_kind_display()})"
        quantity = f"{line.quantity} × " if line.quantity != 1 else ""
        rows.append(f"{quantity}{line.name}{marker}: {money(line.total_minor, order.currency)}")
        if line.discount_minor:
            rows.append(
                "  "
                + _("discount −%(amount)s") % {"amount": money(line.discount_minor, order.currency)}
            )
    rows.append("")
    if order.discount_minor:
        amount = money(order.discount_minor, order.currency)
        if order.discount_code:
            rows.append(
                _("Discount (%(code)s): −%(amount)s")
                % {"code": order.discount_code.code, "amount": amount}
            )
        else:
            rows.append(_("Discount: −%(amount)s") % {"amount": amount})
    rows.append(_("VAT breakdown (rate: net + VAT = gross)"))
    for vat in vat_breakdown((line.vat_rate, line.total_minor, line.vat_minor) for line in lines):
        rows.append(
            f"  {formats.decimal(vat.rate.normalize())} %: {money(vat.net_minor, order.currency)}"
            f" + {money(vat.vat_minor, order.currency)} = {money(vat.gross_minor, order.currency)}"
        )
    rows += [
        _("Total VAT: %(amount)s") % {"amount": money(order.vat_minor, order.currency)},
        _("Total: %(amount)s") % {"amount": money(order.total_minor, order.currency)},
        "",
        _("Thank you for your purchase."),
    ]
    return "\n".join(rows)


def placeholders(order: Order) -> dict[str, str]:
    return {
        "first_name": order.first_name,
        "last_name": order.last_name,
        "email": order.customer_email,
        "order_number": str(order.number),
        "offer": order.offer.name if order.offer else "",
        "total": money(order.total_minor, order.currency),
    }


def _resend(run: ActionRun) -> str:
    # A resend is a new message: with the first one's id, mail systems would drop it.
    return f".resend-{run.pk}" if run.operation == "resend" else ""


class EmailKind(Kind):
    """An action that sends the customer an email, which staff may preview and resend."""

    sends_email = True

    def compose(self, snapshot: ActionSnapshot) -> tuple[str, str]:
        """The email's subject and body for the snapshot's order."""
        raise NotImplementedError

    def run(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        order = snapshot.order
        try:
            validate_email(order.customer_email)
        except ValidationError:
            raise ActionError(
                f"Customer email {http.shorten(order.customer_email, 80)!r} is not valid",
                permanent=True,
            ) from None
        subject, body = self.compose(snapshot)
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "orderdesk.local"
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=snapshot.settings.get("from_email") or settings.DEFAULT_FROM_EMAIL,
            to=[order.customer_email],
            reply_to=[r] if (r := snapshot.settings.get("reply_to")) else None,
            # A stable id lets mail systems drop a copy sent again after a crash.
            headers={
                "Message-ID": f"<order-{order.pk}.action-{snapshot.pk}{_resend(run)}@{domain}>"
            },
        )
        try:
            message.send()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise ActionError(
                f"Email refused: {http.shorten(str(exc), 200)}", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ActionError(
                f"Email could not be sent: {http.shorten(str(exc), 200)}", permanent=False
            ) from None
        return ActionResult(detail=f"Sent to {order.customer_email}")


class SendReceipt(EmailKind):
    """Settings (all optional): subject, from_email, reply_to."""

    def compose(self, snapshot: ActionSnapshot) -> tuple[str, str]:
        order = snapshot.order
        with translation.override(customer_language(snapshot)):
            subject = snapshot.settings.get("subject") or _(
                "Your receipt for order #%(number)s"
            ) % {"number": order.number}
            return Template(subject).safe_substitute(placeholders(order)), receipt_text(order)


class CustomEmail(EmailKind):
    """Settings: subject, body (with $first_name, $order_number... placeholders), from_email."""

    def compose(self, snapshot: ActionSnapshot) -> tuple[str, str]:
        subject = snapshot.settings.get("subject", "")
        body = snapshot.settings.get("body", "")
        if not subject or not body:
            raise ActionError("The custom email has no subject or body", permanent=True)
        with translation.override(customer_language(snapshot)):
            values = placeholders(snapshot.order)
        return Template(subject).safe_substitute(values), Template(body).safe_substitute(values)
