"""Settling refunds left pending (timeouts, 5xx answers, lost callbacks).

Every provider has a way: where it has a status API (Stripe; Paytrail once it has named the
refund's transaction), Orderdesk asks it, by the worker's schedule or when staff press
"Check now"; where it has none (Epassi, a Paytrail refund whose answer never came), staff look
in the provider's own service and confirm what it did, and the timeline keeps who and when.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor
from orderdesk.payments.models import PaymentAttempt, Refund, RefundStatus
from orderdesk.payments.providers.base import ProviderError, RefundResult
from orderdesk.payments.refunds.errors import RefundError
from orderdesk.payments.refunds.outcome import can_check
from orderdesk.payments.refunds.plan import adapter_for
from orderdesk.payments.refunds.settle import settle_refund

log = logging.getLogger(__name__)


def reconcile_pending_refunds(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Ask the providers about refunds left pending; settle each. The worker's job.

    Returns how many were settled. Young refunds are skipped (their call may be in flight),
    and so are those no provider can be asked about: staff confirm them.
    """
    settled = 0
    due = Refund.objects.filter(
        status=RefundStatus.PENDING, created_at__lt=timezone.now() - older_than
    ).select_related("payment_attempt", "order__checkout")
    for refund in due.iterator():
        if not can_check(refund):
            continue
        if reconcile_refund(refund).status != RefundStatus.PENDING:
            settled += 1
    return settled


def reconcile_refund(refund: Refund) -> Refund:
    """Settle one refund with what its provider says now; unchanged when it cannot answer."""
    attempt = refund.payment_attempt
    if attempt is None:
        return refund
    try:
        return _settle_as_provider_says(refund, attempt)
    except ProviderError as error:
        log.warning("Refund %s still unknown: %s", refund.pk, error.message)
        return refund


def check_refund(refund: Refund) -> Refund:
    """ "Check now": ask the provider about one pending refund at once and settle it.

    A refund that is no longer pending is answered as it is (a second click, or the worker
    was quicker). Raises RefundError, with nothing changed, when the provider cannot be
    asked about it (staff confirm it instead) or does not answer now.
    """
    refund = Refund.objects.select_related("payment_attempt", "order__checkout").get(pk=refund.pk)
    if refund.status != RefundStatus.PENDING:
        return refund
    attempt = refund.payment_attempt
    if attempt is None or not can_check(refund):
        name = attempt.get_provider_display() if attempt is not None else _("The provider")
        raise RefundError(
            _(
                "%(provider)s cannot be asked about this refund: look it up in %(provider)s's own"
                " service and confirm here what it did."
            )
            % {"provider": name}
        )
    try:
        return _settle_as_provider_says(refund, attempt)
    except ProviderError as error:
        raise RefundError(
            _(
                "%(provider)s could not tell just now (%(problem)s); the refund stays pending."
                " Try again in a moment."
            )
            % {"provider": attempt.get_provider_display(), "problem": error.message}
        ) from None


def _settle_as_provider_says(refund: Refund, attempt: PaymentAttempt) -> Refund:
    """Ask `attempt`'s provider about `refund` and settle it; ProviderError when it cannot say."""
    result = adapter_for(attempt).refund_status(attempt, refund)
    return settle_refund(refund, result, actor=Actor.provider(attempt.get_provider_display()))


def confirm_refund(refund: Refund, *, refunded: bool, actor: Actor) -> Refund:
    """Staff settle a pending refund the provider cannot be asked about.

    `refunded`: the provider's own service shows the money returned (the refund is booked
    like any provider success) or not (it fails and its products can be refunded again).
    The timeline names who confirmed it. The same confirmation again is answered with the
    refund as it is; a contrary one, or one for a refund the provider can be asked about,
    raises RefundError with nothing changed.
    """
    with transaction.atomic():
        transitions.lock_order(refund.order)
        refund = (
            Refund.objects.select_for_update(of=("self",))
            .select_related("payment_attempt", "order__checkout")
            .get(pk=refund.pk)
        )
        attempt = refund.payment_attempt
        name = attempt.get_provider_display() if attempt is not None else _("the provider")
        wanted = RefundStatus.SUCCEEDED if refunded else RefundStatus.FAILED
        if refund.status == wanted:
            return refund
        if refund.status != RefundStatus.PENDING:
            raise RefundError(
                _("This refund is no longer pending: it is %(status)s. Nothing was changed.")
                % {"status": refund.get_status_display().lower()}
            )
        if can_check(refund):
            raise RefundError(
                _(
                    "%(provider)s can be asked about this refund: use “Check now” instead of"
                    " confirming it by hand."
                )
                % {"provider": name}
            )
        amount = format_money(refund.amount_minor, refund.currency)
        who = actor.label
        if refunded:
            message = _("%(provider)s refunded it, confirmed by %(who)s") % {
                "provider": name,
                "who": who,
            }
            result = RefundResult("succeeded", message=message)
            event = f"Refund of {amount}: {who} confirmed that {name} returned the money"
        else:
            message = _("%(provider)s did not refund it, confirmed by %(who)s") % {
                "provider": name,
                "who": who,
            }
            result = RefundResult("failed", message=message)
            event = (
                f"Refund of {amount} failed: {who} confirmed that {name} did not return the"
                " money; its products can be refunded again"
            )
        return settle_refund(refund, result, actor=actor, event_message=event)
