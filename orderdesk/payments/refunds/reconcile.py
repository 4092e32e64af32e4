"""Reconciling: asking the provider about refunds left pending (timeouts, lost callbacks)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from orderdesk.orders.events import Actor
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.refunds.plan import adapter_for
from orderdesk.payments.refunds.settle import settle_refund

log = logging.getLogger(__name__)


def reconcile_pending_refunds(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Ask the provider about refunds left pending (timeouts, lost callbacks); settle each.

    Returns how many were settled. Young refunds are skipped: their call may be in flight.
    """
    settled = 0
    due = Refund.objects.filter(
        status=RefundStatus.PENDING, created_at__lt=timezone.now() - older_than
    ).select_related("payment_attempt", "order")
    for refund in due.iterator():
        if reconcile_refund(refund).status != RefundStatus.PENDING:
            settled += 1
    return settled


def reconcile_refund(refund: Refund) -> Refund:
    """Settle one refund with what its provider says now; unchanged when it cannot answer."""
    attempt = refund.payment_attempt
    if attempt is None:
        return refund
    try:
        result = adapter_for(attempt).refund_status(attempt, refund)
    except ProviderError as error:
        log.warning("Refund %s still unknown: %s", refund.pk, error.message)
        return refund
    return settle_refund(refund, result, actor=Actor.provider(attempt.get_provider_display()))
