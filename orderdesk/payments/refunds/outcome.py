"""What happened to a refund's money, in one sentence for people; the web and the API say it."""

from __future__ import annotations

from orderdesk.lib.money import format_money
from orderdesk.payments.models import Refund, RefundStatus


def refund_outcome(refund: Refund) -> str:
    """One sentence on where the refund's money is (SPEC F5), for staff and API clients."""
    amount = format_money(refund.amount_minor, refund.currency)
    attempt = refund.payment_attempt
    provider = attempt.get_provider_display() if attempt is not None else "the provider"
    if refund.status == RefundStatus.SUCCEEDED:
        return f"Refund of {amount} succeeded through {provider}."
    if refund.status == RefundStatus.PENDING:
        note = f" ({refund.failure_message})" if refund.failure_message else ""
        return f"Refund of {amount} sent to {provider}, waiting for its confirmation{note}."
    if refund.status == RefundStatus.RECORDED:
        return f"Refund of {amount} recorded. {refund.recorded_only_reason}".strip()
    if refund.status == RefundStatus.REVERSED:
        return f"Refund of {amount} was reversed: its refunded data was restored."
    return f"Refund of {amount} failed: {refund.failure_message} Nothing else changed."
