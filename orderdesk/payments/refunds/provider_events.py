"""Refunds the provider tells about: ours settling, and those made in its own dashboard."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import OrderStatus
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import (
    PaymentAttempt,
    Provider,
    Refund,
    RefundLine,
    RefundOrigin,
    RefundSettlement,
    RefundStatus,
)
from orderdesk.payments.providers.base import ProviderEvent, RefundOutcome, RefundResult
from orderdesk.payments.refunds.plan import max_refundable_by_line
from orderdesk.payments.refunds.settle import book_payment, book_refund, settle_refund


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
    actor = Actor.provider(
        str(Provider(provider).label) if provider in Provider.values else provider
    )

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
                # The money did move, through the provider's dashboard: the refund says so
                # from now on (its booking time, and so every report, stays as it was).
                recorded.provider_reference = provider_reference[:200]
                recorded.payment_attempt = attempt
                recorded.status = RefundStatus.SUCCEEDED
                recorded.via_provider = True
                recorded.settlement = RefundSettlement.PROVIDER
                recorded.save(
                    update_fields=[
                        "provider_reference",
                        "payment_attempt",
                        "status",
                        "via_provider",
                        "settlement",
                    ]
                )
                book_payment(attempt.pk, amount_minor)
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
                book_refund(order, refund, actor=actor, through_provider=True)
            else:
                # An order refunded in full already has no books left to add this to: only
                # the payment learns that more of its money went back.
                book_payment(attempt.pk, amount_minor)
            return f"recorded refund {refund.pk}"
    except IntegrityError:
        return "already recorded"
