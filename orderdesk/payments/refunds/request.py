"""Requesting a refund: the intent row under the order lock, the provider call after commit.

One idempotency key makes one refund. The request it came with is kept as a fingerprint on
the refund, so the key sent again with the same request answers with that refund (a replay)
and with anything else is refused (`RefundKeyReused`), whichever interface sent it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from orderdesk.lib import formats
from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order
from orderdesk.payments.models import Refund, RefundLine, RefundStatus
from orderdesk.payments.providers.base import ProviderError, RefundResult
from orderdesk.payments.refunds.errors import EXPIRED_MESSAGE, RefundError, RefundKeyReused
from orderdesk.payments.refunds.plan import NOT_AUTOMATIC_MESSAGE, adapter_for, refund_options
from orderdesk.payments.refunds.settle import book_refund, settle_refund

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class RefundRequest:
    """A refund as staff or a client asked for it (SPEC F5); what the interfaces build."""

    amounts: Mapping[int, int]  # order line id → minor units; zero means "not this line"
    via_provider: bool  # "Refund payments": false records the refund only
    remove_access_line_ids: frozenset[int] = field(default_factory=frozenset)
    remove_offer_access: bool = False
    reason: str = ""
    # The currency the caller believes the order is in; refused when it is not.
    currency: str | None = None
    # Email the customer a refund confirmation once it is booked. Like the reason, left out
    # of the fingerprint: it does not change what is refunded.
    notify_customer: bool = False

    def fingerprint(self) -> dict[str, Any]:
        """What tells this request from another sent with the same key (JSON, as stored).

        The reason is left out: it is a note, and a retry may word it differently.
        """
        asked = {line_id for line_id, amount in self.amounts.items() if amount}
        return {
            "lines": {
                str(line_id): [self.amounts.get(line_id, 0), line_id in self.remove_access_line_ids]
                for line_id in sorted(asked | self.remove_access_line_ids)
            },
            "via_provider": self.via_provider,
            "remove_offer_access": self.remove_offer_access,
            "currency": self.currency.upper() if self.currency else None,
        }


@dataclass(frozen=True)
class RefundAnswer:
    """The refund a request made, or the one an earlier request with its key made."""

    refund: Refund
    # True when an earlier request with the same key and fingerprint made the refund; this
    # one wrote nothing and moved no money.
    replayed: bool


def valid_key(key: str) -> bool:
    """Whether an idempotency key has the shape the form and the API send."""
    return _KEY.fullmatch(key) is not None


def scoped_key(order: Order, key: str) -> str:
    """The stored (and provider-facing) key: a key can only ever replay its own order."""
    return f"od-{order.pk}-{key}"


def refund_order(
    order: Order, request: RefundRequest, *, actor: Actor, idempotency_key: str
) -> RefundAnswer:
    """Refund what `request` asks of the order; SPEC F5.

    Writes the refund as pending (or recorded, with the reason, when no money goes through
    the provider) under the order lock, re-checking `refund_options` there, then asks the
    provider outside any transaction and settles the result. The same `idempotency_key` with
    the same request answers with the first refund (`replayed`) and never calls the provider
    twice; with another request it raises RefundKeyReused. Raises RefundError (nothing
    written) for a request that cannot be made. Must not run inside a transaction: the
    provider is called after this function's commit.
    """
    if not valid_key(idempotency_key or ""):
        raise RefundError(_(EXPIRED_MESSAGE))
    key = scoped_key(order, idempotency_key)
    fingerprint = request.fingerprint()
    earlier = _replay(key, fingerprint, raw_key=idempotency_key)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic(durable=True):
            order = transitions.lock_order(order)
            # Decided under the lock: a request that raced past the look-up above waits
            # here for the first one's commit and then finds its refund.
            earlier = _replay(key, fingerprint, raw_key=idempotency_key)
            if earlier is not None:
                return earlier
            refund = _write_refund(order, request, fingerprint, actor=actor, key=key)
    except IntegrityError:
        # Only a refund written with the same key by a request this lock did not order.
        earlier = _replay(key, fingerprint, raw_key=idempotency_key)
        if earlier is None:
            raise
        return earlier
    if refund.status == RefundStatus.PENDING:
        refund = settle_refund(refund, call_provider(refund), actor=actor)
    return RefundAnswer(refund, replayed=False)


def _replay(key: str, fingerprint: dict[str, Any], *, raw_key: str) -> RefundAnswer | None:
    """The refund an earlier request with `key` made, None when there is none.

    Raises RefundKeyReused when that request asked for something else.
    """
    earlier = Refund.objects.filter(idempotency_key=key).first()
    if earlier is None:
        return None
    if not _same_request(earlier, fingerprint):
        raise RefundKeyReused(earlier, key=raw_key)
    return RefundAnswer(earlier, replayed=True)


def _same_request(refund: Refund, fingerprint: dict[str, Any]) -> bool:
    if refund.request_fingerprint is not None:
        return bool(refund.request_fingerprint == fingerprint)
    # A refund from before fingerprints were kept: its rows say what was asked for, except
    # the currency.
    asked = {
        "lines": {
            str(line.order_line_id): [line.amount_minor, line.remove_access]
            for line in refund.lines.all()
        },
        "via_provider": refund.via_provider,
        "remove_offer_access": refund.remove_offer_access,
        "currency": None,
    }
    return asked == {**fingerprint, "currency": None}


def _write_refund(
    order: Order,
    request: RefundRequest,
    fingerprint: dict[str, Any],
    *,
    actor: Actor,
    key: str,
) -> Refund:
    """Check the request against what the order allows now and write its intent row.

    Runs under the order lock, which every path that books a refund takes first.
    """
    currency = request.currency
    if currency is not None and currency.upper() != order.currency:
        raise RefundError(
            _("This order is in %(currency)s, not %(asked)s.")
            % {"currency": order.currency, "asked": currency.upper()}
        )
    options = refund_options(order, lock_payment=True)
    if options.problem:
        raise RefundError(options.problem)

    amounts = request.amounts
    errors: dict[int | str, str] = {}
    for line_id, amount in amounts.items():
        line = options.by_line.get(line_id)
        if line is None:
            errors[line_id] = _("This product is not part of this order.")
        elif amount < 0:
            errors[line_id] = _("Enter an amount of zero or more.")
        elif amount > line.max_minor:
            errors[line_id] = _("At most %(amount)s can be refunded for this product.") % {
                "amount": formats.money(line.max_minor, order.currency)
            }
    for line_id in request.remove_access_line_ids:
        line = options.by_line.get(line_id)
        if line is None:
            errors.setdefault(line_id, _("This product is not part of this order."))
        elif not line.is_full(amounts.get(line_id, 0)):
            errors.setdefault(
                line_id,
                _("Access can be removed only when the product's full price is refunded."),
            )
    if errors:
        raise RefundError(_("Check the refund amounts."), field_errors=errors)
    total = sum(amounts.values())
    if total <= 0:
        raise RefundError(_("Enter an amount to refund for at least one product."))
    if request.remove_offer_access and not options.offer_access:
        raise RefundError(_("This order has no offer access to remove."))
    if total > options.order_left_minor:
        raise RefundError(_("That is more than is left to refund on this order."))
    # Through the provider, the payment itself caps the refund; recorded only, it does not.
    if request.via_provider and options.attempt is not None:
        left = max(0, options.payment_left_minor)
        if total > left:
            raise RefundError(
                _(
                    "At most %(amount)s of this payment can still be refunded through the "
                    "provider: uncheck “Refund payments” to record the rest."
                )
                % {"amount": formats.money(left, order.currency)}
            )
    route = options.route(total_minor=total, via_provider=request.via_provider)
    if route.problem:
        raise RefundError(route.problem)

    reason = request.reason.strip()[:500]
    refund = Refund.objects.create(
        order=order,
        payment_attempt=options.attempt,
        status=RefundStatus.PENDING if route.via_provider else RefundStatus.RECORDED,
        amount_minor=total,
        currency=order.currency,
        via_provider=route.via_provider,
        settlement=route.settlement,
        reason=reason,
        recorded_only_reason=route.recorded_reason,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        remove_offer_access=request.remove_offer_access,
        notify_customer=request.notify_customer,
        created_by=actor.user,
        created_by_token=actor.token,
    )
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_line_id=line_id,
            amount_minor=amount,
            remove_access=line_id in request.remove_access_line_ids,
        )
        for line_id, amount in sorted(amounts.items())
        if amount > 0
    )
    amount_text = format_money(total, order.currency)
    data = {
        "refund_id": refund.pk,
        "amount_minor": total,
        "currency": order.currency,
        "lines": {str(k): v for k, v in amounts.items() if v > 0},
        "via_provider": route.via_provider,
        "reason": reason,
    }
    if route.via_provider:
        record_event(
            order,
            type=EventType.REFUND_REQUESTED,
            message=f"Refund of {amount_text} requested through {route.provider}",
            actor=actor,
            data=data,
        )
    else:
        record_event(
            order,
            type=EventType.REFUND_RECORDED,
            message=f"Refund of {amount_text} recorded. {route.recorded_reason}",
            actor=actor,
            data=data,
        )
        book_refund(order, refund, actor=actor, through_provider=False)
    return refund


def call_provider(refund: Refund) -> RefundResult:
    """Ask the provider to make the refund; never raises.

    Only an answer that says the refund failed makes it failed; no answer (timeout, 5xx,
    anything unexpected) keeps it pending, because the money may have moved.
    """
    attempt = refund.payment_attempt
    if attempt is None:
        return RefundResult("failed", message=_(NOT_AUTOMATIC_MESSAGE))
    try:
        return adapter_for(attempt).refund(attempt, refund)
    except ProviderError as error:
        if error.permanent:
            return RefundResult("failed", message=error.message)
        log.warning("Refund %s left pending: %s", refund.pk, error.message)
        return RefundResult("pending", message=error.message)
    except Exception:
        log.exception("Refund %s left pending after an unexpected error", refund.pk)
        return RefundResult("pending", message="The provider's answer could not be read.")
