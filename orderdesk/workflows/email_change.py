"""Correcting a buyer's mistyped email end to end (issue 14): the order's address, the course
access that went to the old one, and optionally the receipt again."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.actions.services import can_resend, move_access, resend_email, send_receipt
from orderdesk.catalog.models import ActionKind
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order


class EmailChangeForm(forms.Form):
    """The new address, stored lower-cased like every stored email; web and API alike."""

    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": gettext_lazy("Give the new email address."),
            "invalid": gettext_lazy("Give a whole email address, like anna@example.com."),
        },
    )
    resend_receipt = forms.BooleanField(required=False)

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()

    def messages(self) -> dict[str, str]:
        return {name: str(errors[0]) for name, errors in self.errors.items()}


class SameEmail(ValueError):
    """The new address is the one the order has."""


@dataclass(frozen=True)
class EmailChange:
    order: Order
    old_email: str
    runs: list[ActionRun]  # access moved: grants under the new address, removals under the old
    resent: list[ActionRun]  # receipts queued again


def change_customer_email(
    order: Order, email: str, *, resend_receipt: bool, actor: Actor
) -> EmailChange:
    """Correct the order's email (`email` from `EmailChangeForm`) and move its access."""
    with transaction.atomic():
        order = transitions.lock_order(order)
        old = order.customer_email
        if email == old:
            raise SameEmail(f"The order's email is already {email}.")
        order.customer_email = email
        order.save(update_fields=["customer_email", "updated_at"])
        event = record_event(
            order,
            type=EventType.EMAIL_CHANGED,
            message=f"Customer email changed: {old or '(none)'} → {email}",
            actor=actor,
            data={"old": old, "new": email},
        )
        runs = move_access(order, old_email=old, actor=actor) if old else []
    resent: list[ActionRun] = []
    if resend_receipt:
        receipts = ActionSnapshot.objects.filter(order=order, kind=ActionKind.SEND_RECEIPT)
        for snapshot in receipts:
            if can_resend(snapshot):
                key = f"email-change-{event.pk}-{snapshot.pk}"
                run = resend_email(snapshot, key=key, by=actor)
                resent += [run] if run else []
        if not receipts:
            # The checkout sends no receipts: the corrected address gets one all the same,
            # in the language of the staff member asking (English through the API).
            language = translation.get_language() or "en"
            key = f"email-change-{event.pk}-receipt"
            run = send_receipt(order, language=language, key=key, by=actor)
            resent += [run] if run else []
    order.refresh_from_db()
    return EmailChange(order=order, old_email=old, runs=runs, resent=resent)
