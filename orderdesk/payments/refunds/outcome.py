"""What happened to a refund's money, told as it is; the web and the API say the same.

Each refund is in one of six outcomes, and each outcome has a tone the web shows it in:

- succeeded (success): the provider returned the money;
- recorded (warning): "Refund payments" was unchecked, no money moved; the next step is to
  return it outside Orderdesk if the customer should have it back;
- action needed (warning): the refund is booked but the provider cannot return this money
  through Orderdesk (Epassi's partial refunds, invoices): the next step names where;
- pending (info): sent to the provider and not confirmed; either Orderdesk can ask the
  provider ("Check now", and the worker every few minutes) or staff confirm what the
  provider's own service shows;
- failed (error): the provider refused, with its message; nothing else changed;
- reversed (info): undone by restoring refunded data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from orderdesk.lib import formats
from orderdesk.payments.models import Refund, RefundSettlement, RefundStatus
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.refunds.plan import adapter_for


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RECORDED = "recorded"
    ACTION_NEEDED = "action_needed"
    PENDING = "pending"
    FAILED = "failed"
    REVERSED = "reversed"


TONES = {
    Outcome.SUCCEEDED: "success",
    Outcome.RECORDED: "warning",
    Outcome.ACTION_NEEDED: "warning",
    Outcome.PENDING: "info",
    Outcome.FAILED: "error",
    Outcome.REVERSED: "info",
}


@dataclass(frozen=True)
class RefundNotice:
    """A refund's outcome, the sentence that tells it and how a pending one gets settled."""

    refund: Refund
    outcome: Outcome
    message: str
    provider: str  # the payment's provider, as people name it
    # For a pending refund: Orderdesk can ask the provider ("Check now"); otherwise staff
    # confirm what the provider did. False for every other outcome.
    can_check: bool = False

    @property
    def tone(self) -> str:
        """success, warning, error or info: how the web shows it."""
        return TONES[self.outcome]

    @property
    def can_confirm(self) -> bool:
        """Whether staff settle this refund by saying what the provider did."""
        return self.outcome == Outcome.PENDING and not self.can_check


def can_check(refund: Refund) -> bool:
    """Whether the refund's provider can be asked what became of it (no HTTP call)."""
    attempt = refund.payment_attempt
    if attempt is None:
        return False
    try:
        return adapter_for(attempt).can_check_refund(refund)
    except ProviderError:
        # The provider is no longer set up for this checkout: nobody can ask it.
        return False


def refund_notice(refund: Refund) -> RefundNotice:
    """The refund's outcome and its one sentence (SPEC F5), for staff and API clients."""
    amount = formats.money(refund.amount_minor, refund.currency)
    attempt = refund.payment_attempt
    provider = attempt.get_provider_display() if attempt is not None else _("the provider")
    values = {"amount": amount, "provider": provider}
    status = refund.status
    if status == RefundStatus.SUCCEEDED:
        return RefundNotice(
            refund,
            Outcome.SUCCEEDED,
            _("Refund of %(amount)s succeeded through %(provider)s.") % values,
            provider,
        )
    if status == RefundStatus.RECORDED:
        reason = refund.recorded_only_reason
        if refund.settlement == RefundSettlement.UNCHECKED:
            return RefundNotice(
                refund,
                Outcome.RECORDED,
                _(
                    "Refund of %(amount)s recorded only: no money was returned. If the customer"
                    " should have it back, return it outside Orderdesk."
                )
                % values,
                provider,
            )
        recorded = _("Refund of %(amount)s recorded, and the money is not returned yet.") % values
        return RefundNotice(refund, Outcome.ACTION_NEEDED, f"{recorded} {reason}".strip(), provider)
    if status == RefundStatus.PENDING:
        note = (
            " " + _("Last answer: %(answer)s.") % {"answer": refund.failure_message}
            if refund.failure_message
            else ""
        )
        if can_check(refund):
            return RefundNotice(
                refund,
                Outcome.PENDING,
                _(
                    "Refund of %(amount)s is pending: checking with %(provider)s whether the"
                    " money went back. Orderdesk asks again every few minutes; “Check now” asks"
                    " at once."
                )
                % values
                + note,
                provider,
                can_check=True,
            )
        return RefundNotice(
            refund,
            Outcome.PENDING,
            _(
                "Refund of %(amount)s is pending: %(provider)s has not confirmed it and cannot be"
                " asked. Look the payment up in %(provider)s's own service, then confirm here"
                " whether %(provider)s refunded it."
            )
            % values
            + note,
            provider,
        )
    if status == RefundStatus.REVERSED:
        return RefundNotice(
            refund,
            Outcome.REVERSED,
            _("Refund of %(amount)s was reversed: its refunded data was restored.") % values,
            provider,
        )
    reason = refund.failure_message or _("%(provider)s refused the refund.") % values
    if not reason.endswith((".", "!", "?")):
        reason += "."
    return RefundNotice(
        refund,
        Outcome.FAILED,
        _(
            "Refund of %(amount)s failed: %(reason)s No money was returned and nothing else"
            " changed: its products can be refunded again."
        )
        % {**values, "reason": reason},
        provider,
    )


def refund_outcome(refund: Refund) -> str:
    """One sentence on where the refund's money is (SPEC F5), for staff and API clients."""
    return refund_notice(refund).message
