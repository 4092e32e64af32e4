"""Refunds: an intent row under the order lock, the provider call outside it, then the books.

Money leaves the merchant's account here, so every path keeps three promises: a refund is
never made twice (one row per idempotency key, the key goes to the provider), never more than
was paid (amounts are checked under the order lock, counting refunds still pending), and the
books follow what the provider did (an unknown outcome stays pending until the provider says).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from orderdesk.actions.models import ActionSnapshot
from orderdesk.actions.services import revoke_actions
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderLine, OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Provider,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundStatus,
)
from orderdesk.payments.providers.base import (
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    RefundOutcome,
    RefundResult,
)
from orderdesk.payments.providers.registry import get_provider

log = logging.getLogger(__name__)

EPASSI_PARTIAL_MESSAGE = (
    "Epassi supports only full refunds: this partial refund is recorded but the money must be "
    "returned in Epassi's own service."
)
NOT_AUTOMATIC_MESSAGE = (
    "This payment method cannot be refunded automatically: refund it in the provider's own "
    "dashboard."
)
UNCHECKED_MESSAGE = "“Refund payments” was unchecked: recorded only, no money was returned."


_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ALL = "__all__"


class RefundError(Exception):
    """A refund that cannot be made as asked; nothing was written.

    `field_errors` maps an order line id (or "__all__") to a message for that field.
    """

    def __init__(
        self, message: str, *, field_errors: Mapping[int | str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[int | str, str] = dict(field_errors or {ALL: message})


@dataclass(frozen=True)
class RefundRoute:
    """What a refund of this order will do: through the provider, or recorded with a reason."""

    provider: str  # display name of the payment's provider, "" when nothing was paid
    via_provider: bool
    recorded_reason: str = ""
    # Set when the refund cannot be made as asked (the provider is not set up).
    problem: str = ""


# --- reading -----------------------------------------------------------------------------


def refundable_attempt(order: Order) -> PaymentAttempt | None:
    """The attempt that took the order's money (the newest succeeded one)."""
    return order.payment_attempts.settled().order_by("-created_at", "-pk").first()


def pending_by_line(order: Order) -> dict[int, int]:
    """Amounts per order line held by refunds still waiting for the provider."""
    rows = (
        RefundLine.objects.filter(refund__order=order, refund__status=RefundStatus.PENDING)
        .values("order_line_id")
        .annotate(total=Sum("amount_minor"))
    )
    return {row["order_line_id"]: row["total"] or 0 for row in rows}


def max_refundable_by_line(order: Order, lines: Collection[OrderLine]) -> dict[int, int]:
    pending = pending_by_line(order)
    return {line.pk: max(0, line.refundable_minor - pending.get(line.pk, 0)) for line in lines}


def offer_access_snapshots(order: Order) -> list[ActionSnapshot]:
    """Kajabi grants made at offer or checkout level: what "Remove offer access" revokes."""
    return list(
        order.action_snapshots.filter(
            kind=ActionKind.KAJABI_GRANT, level__in=[ActionLevel.OFFER, ActionLevel.CHECKOUT]
        )
    )


def product_access_snapshots(order: Order, product_ids: Collection[int]) -> list[ActionSnapshot]:
    """Kajabi grants made for these products: what "Remove access" revokes."""
    return list(
        order.action_snapshots.filter(
            kind=ActionKind.KAJABI_GRANT, level=ActionLevel.PRODUCT, product_id__in=product_ids
        )
    )


def _adapter(attempt: PaymentAttempt) -> PaymentProvider:
    """The adapter for the attempt's provider; ProviderError when it is not set up."""
    return get_provider(attempt.provider, attempt.order.checkout)


def plan_refund(order: Order, *, partial: bool, via_provider: bool = True) -> RefundRoute:
    """Tell, before anything is written, where a refund of this order goes."""
    attempt = refundable_attempt(order)
    if attempt is None:
        return RefundRoute("", via_provider=False, recorded_reason=NOT_AUTOMATIC_MESSAGE)
    name = attempt.get_provider_display()
    if not via_provider:
        return RefundRoute(name, via_provider=False, recorded_reason=UNCHECKED_MESSAGE)
    try:
        adapter = _adapter(attempt)
    except ProviderError as error:
        return RefundRoute(
            name,
            via_provider=True,
            problem=f"{error.message}: uncheck “Refund payments” to record the refund only.",
        )
    if adapter.can_refund(partial=partial):
        return RefundRoute(name, via_provider=True)
    if adapter.full_refund and partial:
        if attempt.provider == Provider.EPASSI:
            return RefundRoute(name, via_provider=False, recorded_reason=EPASSI_PARTIAL_MESSAGE)
        return RefundRoute(
            name,
            via_provider=False,
            recorded_reason=f"{name} supports only full refunds: this partial refund is recorded "
            f"but the money must be returned in {name}'s own service.",
        )
    return RefundRoute(name, via_provider=False, recorded_reason=NOT_AUTOMATIC_MESSAGE)


# --- refunding ---------------------------------------------------------------------------


def valid_key(key: str) -> bool:
    """Whether a form's idempotency key has the shape the form sends (anything else is stale)."""
    return _KEY.fullmatch(key) is not None


def scoped_key(order: Order, key: str) -> str:
    """The stored (and provider-facing) key: a form key can only ever replay its own order."""
    return f"od-{order.pk}-{key}"


def refund_order(
    order: Order,
    *,
    amounts: Mapping[int, int],
    via_provider: bool,
    remove_access_line_ids: Collection[int] = (),
    remove_offer_access: bool = False,
    reason: str = "",
    actor: Actor,
    idempotency_key: str,
    currency: str | None = None,
) -> Refund:
    """Refund `amounts` (order line id → minor units) of the order; SPEC F5.

    Writes the refund as pending (or recorded, with the reason, when no money goes through
    the provider) under the order lock, then asks the provider outside any transaction and
    settles the result. Submitting the same `idempotency_key` again returns the first refund
    and never calls the provider twice. Raises RefundError (nothing written) for bad input.
    Must not run inside a transaction: the provider is called after this function's commit.
    """
    if not valid_key(idempotency_key or ""):
        raise RefundError("The form has expired: reload it and submit again.")
    key = scoped_key(order, idempotency_key)
    existing = Refund.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic(durable=True):
            refund, replayed = _write_refund(
                order,
                amounts=amounts,
                via_provider=via_provider,
                remove_access_line_ids=set(remove_access_line_ids),
                remove_offer_access=remove_offer_access,
                reason=reason.strip()[:500],
                actor=actor,
                key=key,
                currency=currency,
            )
    except IntegrityError:
        # Two submissions of one form raced past the first look-up; the other one won.
        existing = Refund.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    if replayed or refund.status != RefundStatus.PENDING:
        return refund
    return settle_refund(refund, call_provider(refund), actor=actor)


def _write_refund(
    order: Order,
    *,
    amounts: Mapping[int, int],
    via_provider: bool,
    remove_access_line_ids: set[int],
    remove_offer_access: bool,
    reason: str,
    actor: Actor,
    key: str,
    currency: str | None,
) -> tuple[Refund, bool]:
    order = transitions.lock_order(order)
    existing = Refund.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing, True
    if currency is not None and currency.upper() != order.currency:
        raise RefundError(f"This order is in {order.currency}, not {currency.upper()}.")
    if order.status not in OrderStatus.REFUNDABLE:
        raise RefundError(f"A {order.get_status_display()} order cannot be refunded.")

    lines = {line.pk: line for line in order.lines.all()}
    limits = max_refundable_by_line(order, lines.values())
    errors: dict[int | str, str] = {}
    for line_id, amount in amounts.items():
        line = lines.get(line_id)
        if line is None:
            errors[line_id] = "This product is not part of this order."
        elif amount < 0:
            errors[line_id] = "Enter an amount of zero or more."
        elif amount > limits[line_id]:
            errors[line_id] = (
                f"At most {format_money(limits[line_id], order.currency)} can be refunded"
                " for this product."
            )
    for line_id in remove_access_line_ids:
        line = lines.get(line_id)
        if line is None:
            errors.setdefault(line_id, "This product is not part of this order.")
        elif (
            amounts.get(line_id, 0) == 0
            or amounts.get(line_id, 0) != limits[line_id]
            or (limits[line_id] != line.refundable_minor)
        ):
            errors.setdefault(
                line_id, "Access can be removed only when the product's full price is refunded."
            )
    if errors:
        raise RefundError("Check the refund amounts.", field_errors=errors)
    total = sum(amounts.values())
    if total <= 0:
        raise RefundError("Enter an amount to refund for at least one product.")
    if remove_offer_access and not offer_access_snapshots(order):
        raise RefundError("This order has no offer access to remove.")

    attempt = refundable_attempt(order)
    pending_total = sum(pending_by_line(order).values())
    if total > order.total_minor - order.refunded_minor - pending_total:
        raise RefundError("That is more than is left to refund on this order.")
    partial = True
    if attempt is not None:
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        in_flight = (
            attempt.refunds.filter(status=RefundStatus.PENDING).aggregate(s=Sum("amount_minor"))[
                "s"
            ]
            or 0
        )
        left_on_payment = attempt.amount_minor - attempt.refunded_minor - in_flight
        partial = total < left_on_payment
        if via_provider and total > left_on_payment:
            raise RefundError(
                f"At most {format_money(max(0, left_on_payment), order.currency)} of this payment"
                " can still be refunded through the provider: uncheck “Refund payments” to"
                " record the rest."
            )
    route = plan_refund(order, partial=partial, via_provider=via_provider)
    if route.problem:
        raise RefundError(route.problem)

    refund = Refund.objects.create(
        order=order,
        payment_attempt=attempt,
        status=RefundStatus.PENDING if route.via_provider else RefundStatus.RECORDED,
        amount_minor=total,
        currency=order.currency,
        via_provider=route.via_provider,
        reason=reason,
        recorded_only_reason=route.recorded_reason,
        idempotency_key=key,
        remove_offer_access=remove_offer_access,
        created_by=actor.user,
        created_by_token=actor.token,
    )
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_line_id=line_id,
            amount_minor=amount,
            remove_access=line_id in remove_access_line_ids,
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
        _book(order, refund, actor=actor, through_provider=False)
    return refund, False


def call_provider(refund: Refund) -> RefundResult:
    """Ask the provider to make the refund; never raises.

    Only an answer that says the refund failed makes it failed; no answer (timeout, 5xx,
    anything unexpected) keeps it pending, because the money may have moved.
    """
    attempt = refund.payment_attempt
    if attempt is None:
        return RefundResult("failed", message=NOT_AUTOMATIC_MESSAGE)
    try:
        return _adapter(attempt).refund(attempt, refund)
    except ProviderError as error:
        if error.permanent:
            return RefundResult("failed", message=error.message)
        log.warning("Refund %s left pending: %s", refund.pk, error.message)
        return RefundResult("pending", message=error.message)
    except Exception:
        log.exception("Refund %s left pending after an unexpected error", refund.pk)
        return RefundResult("pending", message="The provider's answer could not be read.")


def settle_refund(refund: Refund, result: RefundResult, *, actor: Actor) -> Refund:
    """Record what the provider did with a refund; safe to call again with the same news.

    succeeded → the books (lines, order total and status, payment status);
    failed → the refund is failed with the provider's message and nothing else changes;
    pending → only the provider's reference and note are kept.
    """
    with transaction.atomic():
        order = transitions.lock_order(refund.order)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        fields: list[str] = []
        if result.provider_reference and refund.provider_reference != result.provider_reference:
            refund.provider_reference = result.provider_reference[:200]
            fields.append("provider_reference")
        amount_text = format_money(refund.amount_minor, refund.currency)
        if result.status == "succeeded" and refund.status in (
            RefundStatus.PENDING,
            RefundStatus.FAILED,
        ):
            # A failed refund that the provider later reports done did move money: book it.
            was_failed = refund.status == RefundStatus.FAILED
            refund.status = RefundStatus.SUCCEEDED
            refund.settled_at = timezone.now()
            refund.failure_message = ""
            refund.save(update_fields=[*fields, "status", "settled_at", "failure_message"])
            record_event(
                order,
                type=EventType.REFUND_SUCCEEDED,
                message=f"Refund of {amount_text} succeeded"
                + (" (the provider reported it after a failure)" if was_failed else ""),
                actor=actor,
                data={"refund_id": refund.pk, "provider_reference": refund.provider_reference},
            )
            _book(order, refund, actor=actor, through_provider=True)
        elif result.status == "failed" and refund.status == RefundStatus.PENDING:
            refund.status = RefundStatus.FAILED
            refund.settled_at = timezone.now()
            refund.failure_message = (result.message or "The provider refused the refund.")[:500]
            refund.save(update_fields=[*fields, "status", "settled_at", "failure_message"])
            record_event(
                order,
                type=EventType.REFUND_FAILED,
                message=f"Refund of {amount_text} failed: {refund.failure_message}",
                actor=actor,
                data={"refund_id": refund.pk},
            )
        elif result.status == "pending" and refund.status == RefundStatus.PENDING:
            note = result.message[:500]
            if note and note != refund.failure_message:
                refund.failure_message = note
                fields.append("failure_message")
            if fields:
                refund.save(update_fields=fields)
        elif fields:
            refund.save(update_fields=fields)
    return refund


def _book(order: Order, refund: Refund, *, actor: Actor, through_provider: bool) -> Order:
    """Add a refund to the order's books; runs under the order lock."""
    for refund_line in refund.lines.select_related("order_line"):
        line = refund_line.order_line
        added = min(refund_line.amount_minor, line.refundable_minor)
        if added:
            line.refunded_minor += added
            line.save(update_fields=["refunded_minor"])
    new_total = min(order.total_minor, order.refunded_minor + refund.amount_minor)
    if new_total > order.refunded_minor:
        order = transitions.record_refund(
            order, refunded_minor=new_total, actor=actor, data={"refund_id": refund.pk}
        )
    if through_provider and refund.payment_attempt_id is not None:
        attempt = PaymentAttempt.objects.select_for_update().get(pk=refund.payment_attempt_id)
        attempt.refunded_minor = min(
            attempt.amount_minor, attempt.refunded_minor + refund.amount_minor
        )
        attempt.status = (
            PaymentStatus.REFUNDED
            if attempt.refunded_minor >= attempt.amount_minor
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        attempt.save(update_fields=["refunded_minor", "status", "updated_at"])
    _schedule_access_removal(order, refund, actor=actor)
    return order


def _schedule_access_removal(order: Order, refund: Refund, *, actor: Actor) -> None:
    product_ids = [
        pid
        for pid in refund.lines.filter(remove_access=True).values_list(
            "order_line__product_id", flat=True
        )
        if pid is not None
    ]
    snapshots = product_access_snapshots(order, product_ids) if product_ids else []
    if refund.remove_offer_access:
        snapshots += offer_access_snapshots(order)
    if snapshots:
        revoke_actions(order, snapshots=snapshots, actor=actor)


# --- later news from the provider --------------------------------------------------------


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
    attempt = refund.payment_attempt
    if attempt is None:
        return refund
    try:
        result = _adapter(attempt).refund_status(attempt, refund)
    except ProviderError as error:
        log.warning("Refund %s still unknown: %s", refund.pk, error.message)
        return refund
    return settle_refund(refund, result, actor=Actor.provider(attempt.get_provider_display()))


def apply_refund_event(event: ProviderEvent, *, checkout: Checkout, provider: str) -> str:
    """Apply a verified refund notification once; returns what happened, for the record.

    A refund made here is found by our key (echoed in metadata / refundStamp) or the
    provider's refund id and settled. A refund made in the provider's dashboard is recorded
    once, keyed by the provider's refund id; one that matches a refund recorded here by hand
    is linked to it instead of being counted twice.
    """
    if event.kind not in ("refund_succeeded", "refund_pending", "refund_failed"):
        return "ignored: not a refund event"
    outcomes: dict[str, RefundOutcome] = {
        "refund_succeeded": "succeeded",
        "refund_pending": "pending",
        "refund_failed": "failed",
    }
    result = RefundResult(
        outcomes[event.kind], provider_reference=event.refund_reference, message=event.message
    )
    actor = Actor.provider(Provider(provider).label if provider in Provider.values else provider)

    ours = _find_our_refund(event, checkout=checkout, provider=provider)
    if ours is not None:
        settled = settle_refund(ours, result, actor=actor)
        return f"refund {settled.pk}: {settled.status}"

    attempt = _find_attempt(event, checkout=checkout, provider=provider)
    if attempt is None:
        return "ignored: no payment with that reference"
    if event.kind != "refund_succeeded" or not event.refund_reference or not event.amount_minor:
        return "ignored: a refund made elsewhere counts only once it succeeded"
    if event.currency and event.currency.upper() != attempt.currency:
        return f"ignored: currency {event.currency} is not the payment's {attempt.currency}"
    return record_provider_refund(
        attempt,
        amount_minor=event.amount_minor,
        provider_reference=event.refund_reference,
        actor=actor,
    )


def _find_our_refund(event: ProviderEvent, *, checkout: Checkout, provider: str) -> Refund | None:
    q = Q()
    if event.refund_key:
        q |= Q(idempotency_key=event.refund_key)
    if event.refund_reference:
        q |= Q(provider_reference=event.refund_reference, payment_attempt__provider=provider)
    if not q:
        return None
    return Refund.objects.filter(q, order__checkout=checkout).order_by("pk").first()


def _find_attempt(
    event: ProviderEvent, *, checkout: Checkout, provider: str
) -> PaymentAttempt | None:
    q = Q()
    if event.payment_reference:
        q |= Q(provider_reference=event.payment_reference)
    if event.stamp:
        q |= Q(stamp=event.stamp)
    if not q:
        return None
    return (
        PaymentAttempt.objects.filter(q, provider=provider, order__checkout=checkout)
        .select_related("order")
        .first()
    )


def record_provider_refund(
    attempt: PaymentAttempt, *, amount_minor: int, provider_reference: str, actor: Actor
) -> str:
    """Book a refund the merchant made in the provider's own dashboard, exactly once."""
    key = f"{attempt.provider}-refund-{provider_reference}"[:100]
    try:
        with transaction.atomic():
            order = transitions.lock_order(attempt.order)
            if Refund.objects.filter(
                Q(idempotency_key=key)
                | Q(provider_reference=provider_reference, payment_attempt=attempt)
            ).exists():
                return "already recorded"
            amount_text = format_money(amount_minor, attempt.currency)
            # A pending refund of ours for exactly this amount, not yet told its provider id,
            # is this one: the notification beat the provider's answer to our own call.
            pending = (
                attempt.refunds.filter(
                    status=RefundStatus.PENDING, amount_minor=amount_minor, provider_reference=""
                )
                .order_by("pk")
                .first()
            )
            if pending is not None:
                settled = settle_refund(
                    pending,
                    RefundResult("succeeded", provider_reference=provider_reference),
                    actor=actor,
                )
                return f"refund {settled.pk}: {settled.status}"
            # Staff may have recorded this refund by hand ("Refund payments" unchecked) before
            # making it in the dashboard: link the two instead of counting it twice.
            recorded = (
                attempt.order.refunds.filter(
                    status=RefundStatus.RECORDED, amount_minor=amount_minor, provider_reference=""
                )
                .order_by("pk")
                .first()
            )
            if recorded is not None:
                recorded.provider_reference = provider_reference[:200]
                recorded.payment_attempt = attempt
                recorded.save(update_fields=["provider_reference", "payment_attempt"])
                _book_payment_only(attempt, amount_minor)
                record_event(
                    order,
                    type=EventType.REFUND_SUCCEEDED,
                    message=f"{actor.label} confirmed the recorded refund of {amount_text}",
                    actor=actor,
                    data={"refund_id": recorded.pk, "provider_reference": provider_reference},
                )
                return f"linked to recorded refund {recorded.pk}"
            refund = Refund.objects.create(
                order=order,
                payment_attempt=attempt,
                status=RefundStatus.SUCCEEDED,
                origin=RefundOrigin.PROVIDER,
                amount_minor=amount_minor,
                currency=attempt.currency,
                via_provider=True,
                idempotency_key=key,
                provider_reference=provider_reference[:200],
                settled_at=timezone.now(),
            )
            lines = list(order.lines.all())
            limits = max_refundable_by_line(order, lines)
            left = amount_minor
            parts = []
            for line in lines:
                share = min(left, limits[line.pk])
                if share > 0:
                    parts.append(RefundLine(refund=refund, order_line=line, amount_minor=share))
                    left -= share
            RefundLine.objects.bulk_create(parts)
            record_event(
                order,
                type=EventType.REFUND_SUCCEEDED,
                message=f"Refund of {amount_text} made in {actor.label}'s dashboard",
                actor=actor,
                data={"refund_id": refund.pk, "provider_reference": provider_reference},
            )
            if order.status in OrderStatus.REFUNDABLE:
                _book(order, refund, actor=actor, through_provider=True)
            else:
                _book_payment_only(attempt, amount_minor)
            return f"recorded refund {refund.pk}"
    except IntegrityError:
        return "already recorded"


def _book_payment_only(attempt: PaymentAttempt, amount_minor: int) -> None:
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
    attempt.refunded_minor = min(attempt.amount_minor, attempt.refunded_minor + amount_minor)
    attempt.status = (
        PaymentStatus.REFUNDED
        if attempt.refunded_minor >= attempt.amount_minor
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    attempt.save(update_fields=["refunded_minor", "status", "updated_at"])


# --- restoring -----------------------------------------------------------------------------


def restore_refunded_data(order: Order, *, actor: Actor) -> tuple[Order, list[Refund]]:
    """Undo the books of every refund (SPEC F4 "Also restore refunded data").

    Order total refunded, line refunded amounts and payment status return to their
    pre-refund values; the refunds stay in the history, marked reversed. Money is not
    moved. Runs inside the caller's transaction when there is one (Mark as Completed
    restores and completes atomically); the caller then moves the order's status and
    refreshes the report days of the refunds it returns (`workflows.completion`).
    """
    with transaction.atomic():
        order = transitions.lock_order(order)
        refunds = list(order.refunds.select_for_update().booked())
        if not refunds:
            raise RefundError("This order has no refunds to restore.")
        if order.refunds.filter(status=RefundStatus.PENDING).exists():
            raise RefundError(
                "A refund of this order is still waiting for the provider: restore it once"
                " the provider has answered."
            )
        before = {
            "refunded_minor": order.refunded_minor,
            "lines": {str(line.pk): line.refunded_minor for line in order.lines.all()},
            "payments": {
                str(a.pk): [a.status, a.refunded_minor] for a in order.payment_attempts.all()
            },
        }
        now = timezone.now()
        for refund in refunds:
            refund.status = RefundStatus.REVERSED
            refund.reversed_at = now
            refund.save(update_fields=["status", "reversed_at"])
        order.lines.filter(refunded_minor__gt=0).update(refunded_minor=0)
        for attempt in order.payment_attempts.select_for_update().filter(refunded_minor__gt=0):
            attempt.refunded_minor = 0
            if attempt.status in (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
                attempt.status = PaymentStatus.SUCCEEDED
            attempt.save(update_fields=["refunded_minor", "status", "updated_at"])
        order.refunded_minor = 0
        order.save(update_fields=["refunded_minor", "updated_at"])
        record_event(
            order,
            type=EventType.REFUNDS_REVERSED,
            message=f"Refunded data restored: {len(refunds)} refund(s) marked reversed",
            actor=actor,
            data={"refund_ids": [r.pk for r in refunds], "before": before},
        )
    return order, refunds
