"""What a refund of an order may do, read once: the dialog shows it, the request re-checks it.

`refund_options` answers every question the Refund dialog (SPEC F5) and the request ask before
anything is written: how much each line can still give back, what refunds still waiting for
the provider hold, what is left on the payment, where the money goes (through the provider or
recorded only, and why) and which access "Remove offer access" would revoke.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from orderdesk.actions.models import ActionSnapshot, SnapshotStatus
from orderdesk.actions.services import access_kept_by
from orderdesk.catalog.models import ActionKind, ActionLevel
from orderdesk.orders.models import Order, OrderLine, OrderStatus
from orderdesk.payments.models import (
    PaymentAttempt,
    Provider,
    RefundLine,
    RefundSettlement,
    RefundStatus,
)
from orderdesk.payments.providers.base import PaymentProvider, ProviderError
from orderdesk.payments.providers.registry import get_provider

EPASSI_PARTIAL_MESSAGE = gettext_noop(
    "Epassi supports only full refunds: this partial refund is recorded but the money must be "
    "returned in Epassi's own service."
)
EPASSI_NO_INTERFACE_MESSAGE = gettext_noop(
    "This merchant has no Epassi refund interface: this refund is recorded, but the money is"
    " returned only when you cancel the purchase in Epassi's own service."
)
NOT_AUTOMATIC_MESSAGE = gettext_noop(
    "This payment method cannot be refunded automatically: refund it in the provider's own "
    "dashboard."
)
MANUAL_MESSAGE = gettext_noop(
    "Invoices and bank transfers are not refunded through Orderdesk: return the money to the"
    " customer yourself, e.g. by bank transfer."
)
UNCHECKED_MESSAGE = gettext_noop(
    "“Refund payments” was unchecked: recorded only, no money was returned."
)


@dataclass(frozen=True)
class RefundRoute:
    """What a refund of this order will do: through the provider, or recorded with a reason."""

    provider: str  # display name of the payment's provider, "" when nothing was paid
    via_provider: bool
    recorded_reason: str = ""
    # Set when the refund cannot be made as asked (the provider is not set up).
    problem: str = ""
    # "Refund payments" was unchecked: recorded only by choice, not because the provider
    # cannot return the money.
    unchecked: bool = False

    @property
    def settlement(self) -> RefundSettlement:
        """How a refund on this route returns its money (`Refund.settlement`)."""
        if self.via_provider:
            return RefundSettlement.PROVIDER
        return RefundSettlement.UNCHECKED if self.unchecked else RefundSettlement.ELSEWHERE


@dataclass(frozen=True)
class LineOption:
    """One order line in a refund: what it can still give back."""

    line: OrderLine
    # Held by refunds still waiting for the provider: not refundable again until they settle.
    pending_minor: int
    # The product's Kajabi grants: what "Remove access" revokes.
    access: tuple[ActionSnapshot, ...] = ()
    # Those of them whose access stays if removed (RefundOptions.access_kept).
    access_kept: Mapping[int, Order] = field(default_factory=dict)

    @property
    def max_minor(self) -> int:
        return max(0, self.line.refundable_minor - self.pending_minor)

    @property
    def can_remove_access(self) -> bool:
        # "Remove access" belongs to a product this refund can give back in full.
        return 0 < self.max_minor == self.line.refundable_minor

    def is_full(self, amount_minor: int) -> bool:
        """Whether refunding `amount_minor` gives back the product's whole price."""
        return self.can_remove_access and amount_minor == self.max_minor


@dataclass(frozen=True)
class RefundOptions:
    """Everything a refund of `order` may do right now; see `refund_options`."""

    order: Order
    lines: tuple[LineOption, ...]
    # The payment that took the order's money, None when nothing was paid through a provider.
    attempt: PaymentAttempt | None
    # What the payment can still give back (its refunds and those in flight taken off); the
    # order's remaining total when there is no payment.
    payment_left_minor: int
    # What the order can still give back: its total less refunds booked or in flight.
    order_left_minor: int
    full_route: RefundRoute
    partial_route: RefundRoute
    unchecked_route: RefundRoute
    # The Kajabi grants "Remove offer access" revokes (offer and checkout level).
    offer_access: tuple[ActionSnapshot, ...]
    # Grants (by snapshot id, product or offer level) whose access stays when removed:
    # another paid, unrefunded order of the customer grants the same Kajabi offer.
    access_kept: Mapping[int, Order] = field(default_factory=dict)

    @property
    def refundable(self) -> bool:
        return self.order.status in OrderStatus.REFUNDABLE

    @property
    def problem(self) -> str:
        """Why the order cannot be refunded at all; empty when it can."""
        if self.refundable:
            return ""
        return f"A {self.order.get_status_display()} order cannot be refunded."

    @cached_property
    def by_line(self) -> Mapping[int, LineOption]:
        return {option.line.pk: option for option in self.lines}

    def is_partial(self, total_minor: int) -> bool:
        """Whether `total_minor` leaves part of the payment unrefunded (no payment: always)."""
        return self.attempt is None or total_minor < self.payment_left_minor

    def route(self, *, total_minor: int, via_provider: bool) -> RefundRoute:
        """Where a refund of `total_minor` goes, with "Refund payments" checked or not."""
        if not via_provider:
            return self.unchecked_route
        return self.partial_route if self.is_partial(total_minor) else self.full_route


def refund_options(order: Order, *, lock_payment: bool = False) -> RefundOptions:
    """What a refund of the order may do right now (SPEC F5), read in one go.

    `lock_payment` locks the payment row too; the request does, under the order lock, so
    two refunds of one payment cannot both count the same money as left.
    """
    lines = list(order.lines.all())
    pending = pending_by_line(order)
    attempt = refundable_attempt(order, lock=lock_payment)
    order_left = order.total_minor - order.refunded_minor - sum(pending.values())
    if attempt is None:
        payment_left = order_left
    else:
        in_flight = (
            attempt.refunds.filter(status=RefundStatus.PENDING).aggregate(s=Sum("amount_minor"))[
                "s"
            ]
            or 0
        )
        payment_left = attempt.amount_minor - attempt.refunded_minor - in_flight
    full, partial, unchecked = _routes(order, attempt)
    grants: dict[int, list[ActionSnapshot]] = {}
    product_ids = {line.product_id for line in lines if line.product_id is not None}
    product_access = product_access_snapshots(order, product_ids)
    for snapshot in product_access:
        grants.setdefault(snapshot.product_id or 0, []).append(snapshot)
    offer_access = offer_access_snapshots(order)
    kept = access_kept_by(
        s for s in (*product_access, *offer_access) if s.status == SnapshotStatus.SUCCEEDED
    )
    return RefundOptions(
        order=order,
        lines=tuple(
            LineOption(
                line,
                pending.get(line.pk, 0),
                tuple(grants.get(line.product_id or 0, ())),
                access_kept=kept,
            )
            for line in lines
        ),
        attempt=attempt,
        payment_left_minor=payment_left,
        order_left_minor=order_left,
        full_route=full,
        partial_route=partial,
        unchecked_route=unchecked,
        offer_access=tuple(offer_access),
        access_kept=kept,
    )


def refundable_attempt(order: Order, *, lock: bool = False) -> PaymentAttempt | None:
    """The attempt that took the order's money (the newest succeeded one)."""
    attempts = order.payment_attempts.settled().order_by("-created_at", "-pk")
    return (attempts.select_for_update() if lock else attempts).first()


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
    return {line.pk: LineOption(line, pending.get(line.pk, 0)).max_minor for line in lines}


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


def adapter_for(attempt: PaymentAttempt) -> PaymentProvider:
    """The adapter for the attempt's provider; ProviderError when it is not set up."""
    return get_provider(attempt.provider, attempt.order.checkout)


def _routes(
    order: Order, attempt: PaymentAttempt | None
) -> tuple[RefundRoute, RefundRoute, RefundRoute]:
    """The routes of a full refund, a partial one and one with "Refund payments" unchecked."""
    if attempt is None:
        nowhere = RefundRoute("", via_provider=False, recorded_reason=_(NOT_AUTOMATIC_MESSAGE))
        return nowhere, nowhere, nowhere
    name = attempt.get_provider_display()
    unchecked = RefundRoute(
        name, via_provider=False, recorded_reason=_(UNCHECKED_MESSAGE), unchecked=True
    )
    try:
        adapter = get_provider(attempt.provider, order.checkout)
    except ProviderError as error:
        blocked = RefundRoute(
            name,
            via_provider=True,
            problem=_("%(problem)s: uncheck “Refund payments” to record the refund only.")
            % {"problem": error.message},
        )
        return blocked, blocked, unchecked
    return (
        _route(adapter, attempt, partial=False),
        _route(adapter, attempt, partial=True),
        unchecked,
    )


def _route(adapter: PaymentProvider, attempt: PaymentAttempt, *, partial: bool) -> RefundRoute:
    name = attempt.get_provider_display()
    if attempt.provider == Provider.MANUAL:
        return RefundRoute(name, via_provider=False, recorded_reason=_(MANUAL_MESSAGE))
    if adapter.can_refund(partial=partial):
        return RefundRoute(name, via_provider=True)
    if attempt.provider == Provider.EPASSI and not partial:
        # A merchant without Epassi's refund interface (ProviderAccount setting).
        return RefundRoute(name, via_provider=False, recorded_reason=_(EPASSI_NO_INTERFACE_MESSAGE))
    if adapter.full_refund and partial:
        if attempt.provider == Provider.EPASSI:
            return RefundRoute(name, via_provider=False, recorded_reason=_(EPASSI_PARTIAL_MESSAGE))
        return RefundRoute(
            name,
            via_provider=False,
            recorded_reason=_(
                "%(provider)s supports only full refunds: this partial refund is recorded but "
                "the money must be returned in the provider's own service."
            )
            % {"provider": name},
        )
    return RefundRoute(name, via_provider=False, recorded_reason=_(NOT_AUTOMATIC_MESSAGE))
