"""Payments made without the sandboxes, registered in them: the demo's generated orders; and
the webhook receivers the demo's actions call, told the secrets those actions sign with.

The demo generator writes paid orders straight to the database, so the sandboxes never saw
their payments, and refunding one through the provider failed with "No such payment_intent".
`register_payments` writes each such payment as the sandbox would hold it once paid, with the
refunds already made through the provider counted on it, so refunds of generated orders take
the same path as refunds of orders paid through the sandboxes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from orderdesk.catalog.models import ActionConfig, ActionKind
from orderdesk.orders.models import OrderLine
from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Provider,
    ProviderAccount,
    Refund,
    RefundStatus,
)
from orderdesk.payments.providers.epassi import euros, mac
from orderdesk.payments.providers.paytrail import payment_items
from orderdesk.payments.providers.stripe import ATTEMPT_KEY, REFUND_KEY
from orderdesk.sandboxes import epassi, paytrail, stripe
from orderdesk.sandboxes.models import SandboxObject, SandboxWebhookEndpoint

SANDBOXED = (Provider.STRIPE, Provider.PAYTRAIL, Provider.EPASSI)
# Attempts that took the customer's money (some of it may have been returned since).
PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
# Refunds whose money left through the provider: restoring refunded data (reversed) changes
# Orderdesk's books only, so the provider still counts those.
MONEY_RETURNED = (RefundStatus.SUCCEEDED, RefundStatus.REVERSED)


@dataclass(frozen=True)
class _Merchant:
    """A checkout's accounts at the sandboxes; "" where it has none."""

    stripe_account: str
    paytrail_merchant: str
    epassi_site: str
    epassi_key: str


def _merchants(checkouts: Iterable[Checkout]) -> dict[int, _Merchant]:
    found: dict[int, dict[str, ProviderAccount]] = defaultdict(dict)
    for account in ProviderAccount.objects.filter(
        checkout__in=list(checkouts), provider__in=SANDBOXED, is_enabled=True
    ):
        found[account.checkout_id][account.provider] = account
    merchants = {}
    for checkout_id, accounts in found.items():
        stripe_account = accounts.get(Provider.STRIPE)
        paytrail_account = accounts.get(Provider.PAYTRAIL)
        epassi_account = accounts.get(Provider.EPASSI)
        stripe_key = stripe_account.secret("secret_key") if stripe_account else ""
        merchants[checkout_id] = _Merchant(
            stripe_account=stripe.account_of(stripe_key) if stripe_key else "",
            paytrail_merchant=paytrail_account.account_id if paytrail_account else "",
            epassi_site=epassi_account.account_id if epassi_account else "",
            epassi_key=epassi_account.secret("secret_key") if epassi_account else "",
        )
    return merchants


_RECEIVER = re.compile(r"/sandbox/webhooks/(?P<key>[-a-zA-Z0-9_]+)/?$")


def register_webhook_receivers(checkouts: Iterable[Checkout]) -> int:
    """Give each sandbox webhook receiver the secret the checkouts' webhook actions sign with.

    A receiver checks signatures with its own secret (a default until told otherwise), so
    the demo's "Notify CRM" failed with 401 on every order and every re-run. Run on every
    demo start: a secret changed in the admin is picked up. Does nothing unless
    SANDBOXES_ENABLED; returns how many receivers it set.
    """
    if not settings.SANDBOXES_ENABLED:
        return 0
    secrets: dict[str, str] = {}
    configs = ActionConfig.objects.filter(
        checkout__in=list(checkouts), kind=ActionKind.WEBHOOK
    ).order_by("pk")
    for config in configs:
        found = _RECEIVER.search(str(config.settings.get("url", "")))
        if found and config.settings.get("secret"):
            secrets[found["key"]] = str(config.settings["secret"])
    for key, secret in secrets.items():
        SandboxWebhookEndpoint.objects.update_or_create(key=key, defaults={"secret": secret})
    return len(secrets)


def register_payments(checkouts: Iterable[Checkout], *, batch_size: int = 2000) -> int:
    """Register the checkouts' paid Stripe, Paytrail and Epassi attempts at the sandboxes.

    Skips payments the sandbox already holds (with their refunds), so it is safe to run
    again and leaves payments made through the sandboxes alone. Does nothing unless
    SANDBOXES_ENABLED. Returns how many sandbox objects it wrote.
    """
    if not settings.SANDBOXES_ENABLED:
        return 0
    merchants = _merchants(checkouts)
    attempts = (
        PaymentAttempt.objects.filter(
            order__checkout__in=list(merchants), provider__in=SANDBOXED, status__in=PAID
        )
        .select_related("order")
        .order_by("pk")
    )
    written = 0
    for batch in _batches(attempts, batch_size):
        objects = list(_objects(_unknown(batch), merchants))
        # ignore_conflicts: a payment made through the sandbox meanwhile keeps its own state.
        SandboxObject.objects.bulk_create(objects, batch_size=500, ignore_conflicts=True)
        written += len(objects)
    return written


def _payment_key(attempt: PaymentAttempt) -> tuple[str, str, str]:
    """Where the sandbox keeps the attempt's payment (Epassi knows it by our stamp)."""
    if attempt.provider == Provider.STRIPE:
        return stripe.P, "payment_intent", attempt.provider_reference
    if attempt.provider == Provider.PAYTRAIL:
        return paytrail.P, "payment", attempt.provider_reference
    return epassi.P, "payment", attempt.stamp


def _unknown(attempts: list[PaymentAttempt]) -> list[PaymentAttempt]:
    """The attempts whose payment the sandbox does not hold yet; it owns the others' state."""
    keys = {attempt.pk: _payment_key(attempt) for attempt in attempts}
    known: set[tuple[str, str, str]] = set()
    for provider, kind in {(p, k) for p, k, _ in keys.values()}:
        wanted = [key for p, k, key in keys.values() if (p, k) == (provider, kind)]
        known.update(
            (provider, kind, key)
            for key in SandboxObject.objects.filter(
                provider=provider, kind=kind, key__in=wanted
            ).values_list("key", flat=True)
        )
    return [attempt for attempt in attempts if keys[attempt.pk] not in known]


def _batches(attempts: QuerySet[PaymentAttempt], size: int) -> Iterator[list[PaymentAttempt]]:
    """The attempts in pages of `size`, by primary key (no OFFSET scans, no long cursor)."""
    last = 0
    while True:
        batch = list(attempts.filter(pk__gt=last)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _objects(
    attempts: list[PaymentAttempt], merchants: dict[int, _Merchant]
) -> Iterator[SandboxObject]:
    refunds: dict[int, list[Refund]] = defaultdict(list)
    for refund in Refund.objects.filter(
        payment_attempt__in=attempts, via_provider=True, status__in=MONEY_RETURNED
    ).order_by("pk"):
        if refund.provider_reference:
            refunds[refund.payment_attempt_id or 0].append(refund)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    paytrail_orders = [a.order_id for a in attempts if a.provider == Provider.PAYTRAIL]
    for line in OrderLine.objects.filter(order_id__in=paytrail_orders).order_by("position", "pk"):
        lines[line.order_id].append(line)
    for attempt in attempts:
        merchant = merchants[attempt.order.checkout_id]
        made = refunds[attempt.pk]
        if attempt.provider == Provider.STRIPE and merchant.stripe_account:
            yield from _stripe(attempt, made, merchant.stripe_account)
        elif attempt.provider == Provider.PAYTRAIL and merchant.paytrail_merchant:
            yield from _paytrail(attempt, made, lines[attempt.order_id], merchant.paytrail_merchant)
        elif attempt.provider == Provider.EPASSI and merchant.epassi_site:
            yield _epassi(attempt, made, merchant)


def _paid_at(attempt: PaymentAttempt) -> dt.datetime:
    return attempt.succeeded_at or attempt.created_at


def _stripe(attempt: PaymentAttempt, made: list[Refund], account: str) -> Iterator[SandboxObject]:
    intent = stripe.intent_object(
        attempt.provider_reference,
        account=account,
        amount=attempt.amount_minor,
        currency=attempt.currency.lower(),
        metadata={
            ATTEMPT_KEY: attempt.stamp,
            "orderdesk_checkout": str(attempt.order.checkout_id),
            "order_number": str(attempt.order.number),
        },
        created=int(attempt.created_at.timestamp()),
    )
    # Charge ids follow the intent's, so the same attempt always gets the same charge.
    stripe.mark_paid(intent, "ch_" + attempt.provider_reference.removeprefix("pi_"))
    intent["_refunded"] = sum(r.amount_minor for r in made)
    yield SandboxObject(provider=stripe.P, kind="payment_intent", key=intent["id"], data=intent)
    for refund in made:
        yield SandboxObject(
            provider=stripe.P,
            kind="refund",
            key=refund.provider_reference,
            data=stripe.refund_object(
                refund.provider_reference,
                intent,
                amount=refund.amount_minor,
                pending=False,
                reason=None,
                metadata={REFUND_KEY: refund.idempotency_key},
                created=int(refund.created_at.timestamp()),
            ),
        )


def _paytrail(
    attempt: PaymentAttempt, made: list[Refund], lines: list[OrderLine], merchant: str
) -> Iterator[SandboxObject]:
    payment = paytrail.payment_object(
        attempt.provider_reference,
        merchant=merchant,
        stamp=attempt.stamp,
        reference=str(attempt.order.number),
        amount=attempt.amount_minor,
        items=payment_items(lines, attempt.amount_minor) or [],
        redirect_urls={},
        callback_urls={},
        created_at=attempt.created_at,
    )
    payment.update(
        status="ok",
        provider=attempt.method,
        paidAt=_paid_at(attempt).isoformat(),
        refunded=sum(r.amount_minor for r in made),
    )
    yield SandboxObject(
        provider=paytrail.P, kind="payment", key=payment["transactionId"], data=payment
    )
    for refund in made:
        yield SandboxObject(
            provider=paytrail.P,
            kind="refund",
            key=refund.provider_reference,
            data=paytrail.refund_object(
                refund.provider_reference,
                payment,
                refund_stamp=refund.idempotency_key,
                refund_reference=str(refund.pk),
                amount=refund.amount_minor,
                status="ok",
                callback_urls={},
            ),
        )


def _epassi(attempt: PaymentAttempt, made: list[Refund], merchant: _Merchant) -> SandboxObject:
    # Epassi keys payments by our STAMP and only ever returns the whole payment (a cancel).
    amount = euros(attempt.amount_minor)
    returned = sum(r.amount_minor for r in made) >= attempt.amount_minor
    payment = {
        "STAMP": attempt.stamp,
        "SITE": merchant.epassi_site,
        "AMOUNT": amount,
        "RETURN": "",
        "REJECT": "",
        "CANCEL": "",
        "MAC": mac(attempt.stamp, merchant.epassi_site, amount, merchant.epassi_key),
        "status": "refunded" if returned else "paid",
        "PAID": attempt.provider_reference,
    }
    return SandboxObject(provider=epassi.P, kind="payment", key=attempt.stamp, data=payment)
