"""The Refund dialog (SPEC F5): the form staff post and what the dialog shows per product.

`RefundForm` checks what was typed (amounts, the key, the reason); its `refund_request()` is
what `payments.refunds.refund_order` takes, and the service checks the request against the
order. `RefundDialog` draws one `refund_options` reading, with the form's values and errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from orderdesk.actions.models import ActionSnapshot
from orderdesk.lib.forms import TextField
from orderdesk.lib.money import AmountError, minor_exponent, parse_major
from orderdesk.orders.models import Order, OrderLine
from orderdesk.payments.refunds import (
    ALL,
    LineOption,
    RefundOptions,
    RefundRequest,
    RefundRoute,
    valid_key,
)
from orderdesk.payments.refunds.errors import EXPIRED_MESSAGE

REMINDER = gettext_noop(
    "Always mark orders correctly even when a direct refund is not possible: unrefunded orders "
    "skew order reports."
)
UNKNOWN_LINE = gettext_lazy("One of the amounts is for a product not on this order.")


class AmountField(forms.Field):
    """An amount in major units as staff type it ("12,50"), as minor units; blank is zero."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.currency = currency

    def to_python(self, value: Any) -> int:
        text = "" if value is None else str(value)
        try:
            return parse_major(text.strip()[:30], self.currency)
        except AmountError as error:
            raise ValidationError(str(error), code="invalid") from None


class KeyField(forms.Field):
    """The dialog's idempotency key; any other shape is a stale or tampered form."""

    def to_python(self, value: Any) -> str:
        key = "" if value is None else str(value)
        if not valid_key(key):
            raise ValidationError(_(EXPIRED_MESSAGE), code="expired")
        return key


class RefundForm(forms.Form):
    """The Refund dialog's POST: one amount and one "Remove access" per order line."""

    key = KeyField(required=False)
    refund_payments = forms.BooleanField(required=False)
    remove_offer_access = forms.BooleanField(required=False)
    notify_customer = forms.BooleanField(required=False)
    reason = TextField(max_length=500)

    def __init__(self, options: RefundOptions, data: Any = None) -> None:
        super().__init__(data)
        self.options = options
        for option in options.lines:
            pk = option.line.pk
            self.fields[amount_field(pk)] = AmountField(currency=options.order.currency)
            self.fields[access_field(pk)] = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A line id the form does not have: another order's line, or not a number at all.
        if any(name.startswith("amount_") and name not in self.fields for name in self.data):
            raise ValidationError(UNKNOWN_LINE, code="unknown_line")
        return cleaned

    def refund_request(self) -> RefundRequest:
        """What the service takes; call after `is_valid()`."""
        data = self.cleaned_data
        pks = [option.line.pk for option in self.options.lines]
        return RefundRequest(
            amounts={pk: data[amount_field(pk)] for pk in pks},
            via_provider=data["refund_payments"],
            remove_access_line_ids=frozenset(pk for pk in pks if data[access_field(pk)]),
            remove_offer_access=data["remove_offer_access"],
            reason=data["reason"],
            notify_customer=data["notify_customer"],
        )


def amount_field(line_id: int) -> str:
    return f"amount_{line_id}"


def access_field(line_id: int) -> str:
    return f"remove_access_{line_id}"


@dataclass
class RefundRow:
    """One product of the dialog."""

    option: LineOption
    value: str = ""
    remove_access: bool = False
    error: str = ""
    is_full: bool = False  # the amount typed is the product's whole remaining price

    @property
    def line(self) -> OrderLine:
        return self.option.line

    @property
    def max_minor(self) -> int:
        return self.option.max_minor

    @property
    def can_remove_access(self) -> bool:
        return self.option.can_remove_access

    @property
    def access(self) -> str:
        """What "Remove access" removes, for the dialog: the product's grants by name."""
        return ", ".join(str(snapshot) for snapshot in self.option.access)

    @property
    def access_kept(self) -> list[str]:
        """Why some of the product's access stays if removed: another order grants it."""
        return _kept_notes(self.option.access, self.option.access_kept)

    @property
    def field(self) -> str:
        return amount_field(self.line.pk)

    @property
    def access_field(self) -> str:
        return access_field(self.line.pk)


@dataclass
class RefundDialog:
    """What the dialog template draws: the options, what was typed and what went wrong."""

    options: RefundOptions
    rows: list[RefundRow]
    key: str
    refund_payments: bool = True
    remove_offer_access: bool = False
    # Ticked on a new dialog: the customer hears about their refund unless staff choose not.
    notify_customer: bool = True
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    total_minor: int = 0

    @property
    def order(self) -> Order:
        return self.options.order

    @property
    def exponent(self) -> int:
        return minor_exponent(self.order.currency)

    @property
    def payment_left_minor(self) -> int:
        return self.options.payment_left_minor

    @property
    def show_offer_access(self) -> bool:
        return bool(self.options.offer_access)

    @property
    def offer_access_kept(self) -> list[str]:
        return _kept_notes(self.options.offer_access, self.options.access_kept)

    @property
    def reminder(self) -> str:
        return _(REMINDER)

    @property
    def message_full(self) -> str:
        return _route_message(self.options.full_route)

    @property
    def message_partial(self) -> str:
        return _route_message(self.options.partial_route)

    @property
    def message_unchecked(self) -> str:
        return _route_message(self.options.unchecked_route)

    @property
    def route_message(self) -> str:
        route = self.options.route(total_minor=self.total_minor, via_provider=self.refund_payments)
        return _route_message(route)

    def add_errors(self, field_errors: dict[int | str, str]) -> None:
        """Show the service's errors: a line's next to its amount, the rest above the table."""
        by_line = {row.line.pk: row for row in self.rows}
        for target, message in field_errors.items():
            row = by_line.get(target) if isinstance(target, int) else None
            if row is not None:
                row.error = message
            else:
                self.add_error(
                    message
                    if target == ALL
                    else _("%(message)s (line %(line)s)") % {"message": message, "line": target}
                )

    def add_error(self, message: str) -> None:
        # The dialog of an order that cannot be refunded says so already.
        if message not in self.errors:
            self.errors.append(message)


def blank_dialog(options: RefundOptions, *, error: str = "") -> RefundDialog:
    """A fresh dialog with a new key, which makes a resubmission of it harmless."""
    dialog = RefundDialog(
        options=options,
        rows=[RefundRow(option) for option in options.lines],
        key=uuid.uuid4().hex,
    )
    if options.problem:
        dialog.add_error(options.problem)
    if error:
        dialog.add_error(error)
    return dialog


def posted_dialog(form: RefundForm) -> RefundDialog:
    """The dialog again as it was posted, with the form's errors in place."""
    options = form.options
    data = form.data
    cleaned = getattr(form, "cleaned_data", {})
    rows = []
    for option in options.lines:
        pk = option.line.pk
        amount = cleaned.get(amount_field(pk))
        errors = form.errors.get(amount_field(pk))
        rows.append(
            RefundRow(
                option,
                value=str(data.get(amount_field(pk), "")).strip()[:30],
                remove_access=bool(cleaned.get(access_field(pk))),
                error=str(errors[0]) if errors else "",
                is_full=amount is not None and option.is_full(amount),
            )
        )
    dialog = RefundDialog(
        options=options,
        rows=rows,
        key=str(data.get("key", ""))[:64],
        refund_payments=bool(cleaned.get("refund_payments")),
        remove_offer_access=bool(cleaned.get("remove_offer_access")),
        notify_customer=bool(cleaned.get("notify_customer")),
        reason=str(data.get("reason", "")).strip()[:500],
        total_minor=sum(cleaned.get(amount_field(option.line.pk)) or 0 for option in options.lines),
    )
    if options.problem:
        dialog.add_error(options.problem)
    for name, messages in form.errors.items():
        if not name.startswith("amount_"):
            for message in messages:
                dialog.add_error(
                    _("Reason: %(message)s") % {"message": message}
                    if name == "reason"
                    else str(message)
                )
    return dialog


def _kept_notes(snapshots: Iterable[ActionSnapshot], kept_by: Mapping[int, Order]) -> list[str]:
    return [
        _(
            "%(access)s stays: order #%(number)s of this customer also grants it and is not"
            " refunded, and Kajabi can only remove an offer as a whole."
        )
        % {"access": snapshot, "number": kept_by[snapshot.pk].number}
        for snapshot in snapshots
        if snapshot.pk in kept_by
    ]


def _route_message(route: RefundRoute) -> str:
    if route.problem:
        return route.problem
    if route.via_provider:
        return _("The money is returned to the customer through %(provider)s.") % {
            "provider": route.provider
        }
    return route.recorded_reason


class RefundConfirmationForm(forms.Form):
    """Staff saying what the provider did with a pending refund it cannot be asked about."""

    refunded = forms.TypedChoiceField(
        choices=[
            ("yes", gettext_lazy("The provider refunded it")),
            ("no", gettext_lazy("The provider did not refund it")),
        ],
        coerce=lambda value: value == "yes",
        error_messages={
            "required": gettext_lazy("Say whether the provider refunded it."),
            "invalid_choice": gettext_lazy("Say whether the provider refunded it."),
        },
    )


class ReversalDecisionForm(forms.Form):
    """Staff's decision about the access a refund removed, after the provider reversed it."""

    restore = forms.TypedChoiceField(
        choices=[
            ("yes", gettext_lazy("Restore access")),
            ("no", gettext_lazy("Leave access removed")),
        ],
        coerce=lambda value: value == "yes",
        error_messages={
            "required": gettext_lazy("Say whether to restore the access."),
            "invalid_choice": gettext_lazy("Say whether to restore the access."),
        },
    )
