"""Payment attempts, refunds and the notifications providers send about them."""

from __future__ import annotations

import os
from enum import nonmember

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.models import LabelledChoices
from orderdesk.orders.models import Order, OrderLine
from orderdesk.organizations.models import ApiToken, Checkout


class Provider(models.TextChoices):
    STRIPE = "stripe", _("Stripe")
    PAYTRAIL = "paytrail", _("Paytrail")
    EPASSI = "epassi", _("Epassi")
    MANUAL = "manual", _("Manual")


class PaymentStatus(models.TextChoices):
    INITIATED = "initiated", _("Initiated")
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")

    # Moved money (and may since have been refunded): such an attempt describes the order
    # better than a later abandoned retry.
    SETTLED = nonmember(("succeeded", "partially_refunded", "refunded"))
    # Money still on the payment that a refund can return.
    REFUNDABLE = nonmember(("succeeded", "partially_refunded"))


class PaymentAttemptQuerySet(models.QuerySet["PaymentAttempt"]):
    def settled(self) -> PaymentAttemptQuerySet:
        return self.filter(status__in=PaymentStatus.SETTLED)


class PaymentAttempt(LabelledChoices):
    """One try to pay an order; an order may have several."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_attempts")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # card, mobilepay, apple_pay, osuuspankki, epassi, invoice...
    method = models.CharField(max_length=30)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.INITIATED
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_minor = models.BigIntegerField(default=0)
    # Our own unique id for the attempt (Paytrail stamp, Epassi STAMP).
    stamp = models.CharField(max_length=64, unique=True)
    # The provider's id: PaymentIntent id, Paytrail transactionId, Epassi PAID.
    provider_reference = models.CharField(max_length=200, blank=True)
    # Stripe's charge id (ch_…) of a PaymentIntent that succeeded: what bank statements and
    # disputes name, so staff can search for it. Blank for other providers.
    charge_reference = models.CharField(max_length=200, blank=True, db_default="", default="")
    failure_message = models.CharField(max_length=500, blank=True)
    # Where the customer's browser goes after coming back from a provider's page through our
    # return endpoints (Paytrail's redirect, Epassi's return): the checkout's own thank-you
    # page, given when the payment started. Blank: our generic result page.
    return_url = models.CharField(max_length=500, blank=True, db_default="", default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # Who marked a manual payment (an invoice, a bank transfer) as received, as the timeline
    # names actors; empty when the provider confirmed it.
    confirmed_by = models.CharField(max_length=200, blank=True)

    objects = PaymentAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="unique_provider_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "-created_at"], name="attempt_order_created"),
            models.Index(
                fields=["charge_reference"],
                name="attempt_charge_reference",
                condition=~Q(charge_reference=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.method} {self.status}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # intent written, provider not yet answered
    SUCCEEDED = "succeeded", _("Succeeded")  # money returned by the provider
    RECORDED = "recorded", _("Recorded only")  # no money moved through Orderdesk
    FAILED = "failed", _("Failed")
    REVERSED = "reversed", _("Reversed")  # undone by "Also restore refunded data"

    # Counted in the order's refunded totals and the reports; "restore" can undo them.
    BOOKED = nonmember(("succeeded", "recorded"))


class RefundQuerySet(models.QuerySet["Refund"]):
    def booked(self) -> RefundQuerySet:
        return self.filter(status__in=RefundStatus.BOOKED)


class RefundOrigin(models.TextChoices):
    ORDERDESK = "orderdesk", _("Orderdesk")
    PROVIDER = "provider", _("Provider dashboard")


class RefundSettlement(models.TextChoices):
    """How a refund's money goes back to the customer, decided when it is asked for."""

    # Through the provider's API, or made in the provider's own dashboard.
    PROVIDER = "provider", _("Through the provider")
    # "Refund payments" was unchecked: recorded only, by the merchant's choice.
    UNCHECKED = "unchecked", _("Recorded only")
    # The provider cannot return this money through Orderdesk (an invoice or bank transfer,
    # Epassi's partial refund, a method without refunds): it is returned elsewhere.
    ELSEWHERE = "elsewhere", _("Returned outside Orderdesk")


class Refund(LabelledChoices):
    """Money returned for some of an order's lines, or the intent to return it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    payment_attempt = models.ForeignKey(
        PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    origin = models.CharField(
        max_length=10, choices=RefundOrigin.choices, default=RefundOrigin.ORDERDESK
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    via_provider = models.BooleanField(default=True)
    # Told apart by this field, never by the wording of `recorded_only_reason`; it agrees
    # with `via_provider` (a constraint).
    settlement = models.CharField(
        max_length=10, choices=RefundSettlement.choices, default=RefundSettlement.PROVIDER
    )
    reason = models.CharField(max_length=500, blank=True)
    # Why no money moved, when it did not (unchecked, or the provider cannot refund this).
    recorded_only_reason = models.CharField(max_length=300, blank=True)
    # Sent to the provider so a retry after a crash can never refund twice.
    idempotency_key = models.CharField(max_length=100, unique=True)
    # What the request with that key asked for (amounts and remove-access per line, the
    # options, the currency if given), so the key sent again with anything else is a
    # conflict instead of a replay. Empty on refunds made before it was kept.
    request_fingerprint = models.JSONField(null=True, blank=True, editable=False)
    provider_reference = models.CharField(max_length=200, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    remove_offer_access = models.BooleanField(default=False)
    # The merchant asked to email the customer a refund confirmation once it is booked;
    # when it went (None until then, and again after a failed send).
    notify_customer = models.BooleanField(default=False)
    customer_notified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # The provider reversed the refund after it had succeeded (Stripe `refund.failed` on a
    # succeeded refund, issue 12): the money is back with the merchant, the books are undone.
    # Staff then decide about the access it removed; who and when is kept here and on the
    # timeline.
    provider_reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_handled_at = models.DateTimeField(null=True, blank=True)
    reversal_handled_by = models.CharField(max_length=254, blank=True)
    # The report days that counted this refund still do: the reports layer rebuilds them
    # (`reports.rollups.refresh_stale_refunds`) before it reads them and in its periodic job.
    rollup_stale = models.BooleanField(default=False, db_default=False)

    objects = RefundQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(via_provider=True, settlement=RefundSettlement.PROVIDER)
                | Q(
                    via_provider=False,
                    settlement__in=[RefundSettlement.UNCHECKED, RefundSettlement.ELSEWHERE],
                ),
                name="refund_settlement_matches_via_provider",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="refund_status_created"),
            models.Index(fields=["provider_reference"], name="refund_provider_reference"),
            # Reports count refunds on the day they settled.
            models.Index(
                fields=["settled_at"],
                name="refund_counted_settled",
                condition=Q(status__in=list(RefundStatus.BOOKED)),
            ),
            models.Index(
                fields=["order"], name="refund_rollup_stale", condition=Q(rollup_stale=True)
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_minor} {self.currency} ({self.status})"

    @property
    def awaits_reversal_decision(self) -> bool:
        """The provider reversed it and staff have not decided about the access it removed."""
        return self.provider_reversed_at is not None and self.reversal_handled_at is None

    @property
    def created_by_label(self) -> str:
        """Who asked for the refund, named as the timeline names actors: the user's email or
        "API token <name>"; empty when nobody in Orderdesk did (made at the provider)."""
        if self.created_by is not None:
            return self.created_by.email
        if self.created_by_token is not None:
            return f"API token {self.created_by_token.name}"
        return ""


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_lines")
    amount_minor = models.BigIntegerField()
    # The VAT in `amount_minor`, at the order line's rate (`orders.pricing.refund_line_vat`):
    # stamped when the refund is booked, so the credit note and the reports' VAT per rate
    # give back what the books hold. None until then (a pending or failed refund).
    vat_minor = models.BigIntegerField(null=True, blank=True)
    remove_access = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="refund_line_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line}: {self.amount_minor}"


class DisputeStatus(models.TextChoices):
    """Stripe's dispute statuses (spec3 `dispute.status`, plus `prevented` of today's API)."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs response")
    WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
    WARNING_CLOSED = "warning_closed", _("Inquiry closed")
    NEEDS_RESPONSE = "needs_response", _("Needs response")
    UNDER_REVIEW = "under_review", _("Under review")
    CHARGE_REFUNDED = "charge_refunded", _("Closed: payment refunded")
    PREVENTED = "prevented", _("Prevented")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")

    # Still open: the merchant may have to answer, the money may still move.
    OPEN = nonmember(
        ("warning_needs_response", "warning_under_review", "needs_response", "under_review")
    )


class Dispute(LabelledChoices):
    """A cardholder's dispute (chargeback or inquiry) of an order's payment, as the provider
    reports it; one row per provider dispute, updated by each of its events."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="disputes")
    payment_attempt = models.ForeignKey(
        PaymentAttempt, on_delete=models.PROTECT, related_name="disputes"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    provider_reference = models.CharField(max_length=200)  # Stripe's dp_…
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=50, blank=True)  # Stripe's reason code, e.g. fraudulent
    status = models.CharField(max_length=30)  # DisputeStatus, or a status Stripe adds later
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    # What the provider took from the merchant's balance and gave back, as its events said.
    funds_withdrawn_minor = models.BigIntegerField(default=0)
    funds_reinstated_minor = models.BigIntegerField(default=0)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the provider made the newest event applied: an older one arriving late (providers
    # do not promise order) does not set the status back.
    last_event_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["opened_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], name="unique_provider_dispute"
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.provider_reference} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in DisputeStatus.OPEN

    @property
    def status_label(self) -> str:
        return (
            str(DisputeStatus(self.status).label) if self.status in DisputeStatus else self.status
        )


class ProviderNotification(models.Model):
    """Every verified notification, stored once per receiving checkout: a replay finds its row
    and changes nothing.

    Per checkout because Stripe sends each event of an account to every endpoint registered on
    it: two checkouts of one merchant on one Stripe account both receive the event of either's
    payment, and each applies what belongs to it. Keyed by provider and event alone, the first
    endpoint to store the event ("unknown payment" there) made it a replay at the endpoint of
    the checkout whose payment it was, and the payment was lost (issue 18).
    """

    # Null on notifications stored before the checkout was recorded (migration 0009 fills it
    # from their order where they have one).
    checkout = models.ForeignKey(
        Checkout, null=True, on_delete=models.CASCADE, related_name="provider_notifications"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # Stripe event id, Paytrail transaction id + status, Epassi stamp + outcome.
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["checkout", "provider", "event_id"], name="unique_checkout_provider_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class ProviderAccount(models.Model):
    """A checkout's credentials at one payment provider.

    Secret fields hold the value itself or `env:NAME` to read it from the environment. They are
    write-only: never rendered in pages, logs, errors or the API (see `secret()`).
    """

    checkout = models.ForeignKey(
        "organizations.Checkout", on_delete=models.CASCADE, related_name="provider_accounts"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    is_enabled = models.BooleanField(default=True)
    # Stripe account id (optional), Paytrail merchant id, Epassi SITE.
    account_id = models.CharField(max_length=100, blank=True)
    # Stripe secret key, Paytrail secret, Epassi MAC key.
    secret_key = models.CharField(max_length=500, blank=True)
    # Stripe webhook signing secret (whsec_…); unused by the others.
    webhook_secret = models.CharField(max_length=500, blank=True)
    # Methods offered with this provider: card, mobilepay, osuuspankki, epassi...
    methods = models.JSONField(default=list, blank=True)
    # Paytrail only: the sub-merchant id when `account_id` is a Shop-in-Shop aggregate
    # merchant; blank for a normal merchant. Shop-in-Shop payments list it on every item and
    # refund per item; a normal merchant's refunds send only the amount (docs/payments.md).
    paytrail_shop_in_shop_merchant = models.CharField(
        "Paytrail Shop-in-Shop sub-merchant",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "A Paytrail merchant id is digits only.")],
        help_text=(
            "Paytrail only: the Shop-in-Shop sub-merchant id when the merchant id above is a"
            " Shop-in-Shop aggregate merchant. Leave blank for a normal Paytrail merchant."
        ),
    )
    # Epassi only: set for a merchant without Epassi's refund interface, which Epassi gives
    # merchants under contract and does not publish. Full refunds are then recorded and staff
    # cancel the purchase in Epassi's own service, as for partial refunds. Off by default:
    # the seed has Epassi's full refunds go through Epassi.
    epassi_no_refund_interface = models.BooleanField(
        "Epassi: no refund interface",
        default=False,
        help_text=(
            "Epassi only: tick for a merchant without Epassi's refund interface (which Epassi"
            " gives merchants under contract). Full refunds are then recorded only, and staff"
            " cancel the purchase in Epassi's own service."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["checkout", "provider"], name="unique_checkout_provider_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} account of checkout {self.checkout_id}"

    def __repr__(self) -> str:
        return f"<ProviderAccount {self.pk} {self.provider} checkout={self.checkout_id}>"

    def clean(self) -> None:
        # Each setting belongs to one provider; set on another it would silently do nothing.
        errors = {}
        if self.paytrail_shop_in_shop_merchant and self.provider != Provider.PAYTRAIL:
            errors["paytrail_shop_in_shop_merchant"] = "Only Paytrail has Shop-in-Shop merchants."
        if self.epassi_no_refund_interface and self.provider != Provider.EPASSI:
            errors["epassi_no_refund_interface"] = "Only Epassi has this setting."
        if errors:
            raise ValidationError(errors)

    @property
    def is_shop_in_shop(self) -> bool:
        return self.provider == Provider.PAYTRAIL and bool(self.paytrail_shop_in_shop_merchant)

    def secret(self, field: str) -> str:
        """The secret in `field` (`secret_key` or `webhook_secret`), resolving `env:NAME`."""
        if field not in ("secret_key", "webhook_secret"):
            raise ValueError(f"{field} is not a secret field")
        value: str = getattr(self, field)
        if value.startswith("env:"):
            return os.environ.get(value[4:], "")
        return value

    def has_secret(self, field: str) -> bool:
        return bool(self.secret(field))
