"""Who acted on an order, and the timeline entries their actions leave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderdesk.orders.models import ActorType, Order, OrderEvent

if TYPE_CHECKING:
    from orderdesk.organizations.models import ApiToken, User


class EventType(models.TextChoices):
    OPENED = "opened", _("Checkout opened")
    BILLING_SAVED = "billing_saved", _("Billing details saved")
    ADD_ON_ADDED = "add_on_added", _("Add-on added")
    ADD_ON_REMOVED = "add_on_removed", _("Add-on removed")
    DISCOUNT_APPLIED = "discount_applied", _("Discount code applied")
    DISCOUNT_REMOVED = "discount_removed", _("Discount code removed")
    PAYMENT_STARTED = "payment_started", _("Payment started")
    PAYMENT_SUCCEEDED = "payment_succeeded", _("Payment succeeded")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_MISMATCH = "payment_mismatch", _("Payment amount or currency mismatch")
    STATUS_CHANGED = "status_changed", _("Status changed")
    COMPLETED = "completed", _("Completed")
    MARKED_COMPLETED = "marked_completed", _("Marked as completed")
    ACTION_SUCCEEDED = "action_succeeded", _("Action succeeded")
    ACTION_FAILED = "action_failed", _("Action failed")
    ACTION_RERUN = "action_rerun", _("Action re-run")
    ACTION_CONFIG_REPLACED = "action_config_replaced", _("Action configuration replaced")
    ACCESS_REVOKED = "access_revoked", _("Access removed")
    # A refund asked to remove access another paid order of the customer still grants.
    ACCESS_KEPT = "access_kept", _("Access kept")
    REFUND_REQUESTED = "refund_requested", _("Refund requested")
    REFUND_SUCCEEDED = "refund_succeeded", _("Refund succeeded")
    REFUND_RECORDED = "refund_recorded", _("Refund recorded")
    REFUND_FAILED = "refund_failed", _("Refund failed")
    REFUNDS_REVERSED = "refunds_reversed", _("Refunded data restored")
    REFUND_EMAILED = "refund_emailed", _("Refund confirmation emailed")
    REFUND_REVERSED_BY_PROVIDER = "refund_provider_reversed", _("Refund reversed by the provider")
    REFUND_REVERSAL_HANDLED = "refund_reversal_handled", _("Reversed refund handled")
    ACCESS_RESTORED = "access_restored", _("Access restored")
    DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
    DISPUTE_UPDATED = "dispute_updated", _("Dispute updated")
    DISPUTE_CLOSED = "dispute_closed", _("Dispute closed")
    DISPUTE_FUNDS = "dispute_funds", _("Dispute funds moved")
    NOTE = "note", _("Note")
    # Written by staff for staff: shown in the panel and the staff API, never to the customer.
    INTERNAL_NOTE = "internal_note", _("Internal note")
    EMAIL_RESEND_REQUESTED = "email_resend_requested", _("Email resend requested")
    EMAIL_RESENT = "email_resent", _("Email resent")
    EMAIL_CHANGED = "email_changed", _("Customer email changed")
    CUSTOMER_DATA_EXPORTED = "customer_data_exported", _("Customer data exported")
    CUSTOMER_DATA_ERASED = "customer_data_erased", _("Customer personal data erased")


@dataclass(frozen=True)
class Actor:
    """The user, API token, provider, customer or system behind a change."""

    type: ActorType
    user: User | None = None
    token: ApiToken | None = None
    label: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, label="System")

    @classmethod
    def customer(cls) -> Actor:
        return cls(ActorType.CUSTOMER, label="Customer")

    @classmethod
    def provider(cls, name: str) -> Actor:
        return cls(ActorType.PROVIDER, label=name)

    @classmethod
    def of_user(cls, user: User) -> Actor:
        return cls(ActorType.USER, user=user, label=user.email)

    @classmethod
    def of_token(cls, token: ApiToken) -> Actor:
        return cls(ActorType.API_TOKEN, token=token, label=f"API token {token.name}")

    @classmethod
    def of(cls, by: Actor | User | None) -> Actor:
        """The actor behind `by`: itself, a user, or the system when nobody is named."""
        if by is None:
            return cls.system()
        return by if isinstance(by, Actor) else cls.of_user(by)


def event_values(
    order: Order, *, type: str, message: str, actor: Actor, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An event's columns: `record_event` writes them as a model, the open as a plain row."""
    return {
        "order_id": order.pk,
        "type": type,
        "message": message[:500],
        "data": data or {},
        "actor_type": actor.type,
        "actor_user_id": actor.user.pk if actor.user else None,
        "actor_token_id": actor.token.pk if actor.token else None,
        "actor_label": actor.label,
    }


def record_event(
    order: Order, *, type: str, message: str, actor: Actor, data: dict[str, Any] | None = None
) -> OrderEvent:
    values = event_values(order, type=type, message=message, actor=actor, data=data)
    for related in ("order_id", "actor_user_id", "actor_token_id"):
        del values[related]  # given as the instances, which the caller may read back
    return OrderEvent.objects.create(
        order=order, actor_user=actor.user, actor_token=actor.token, **values
    )
