"""Orders, their lines and their timeline."""

from __future__ import annotations

import datetime as dt
import secrets
from enum import nonmember
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orderdesk.catalog.models import CheckoutLink, DiscountCode, Offer, Product
from orderdesk.lib.models import LabelledChoices
from orderdesk.orders.folding import Fold, SearchText
from orderdesk.organizations.models import ApiToken, Checkout, Organization

if TYPE_CHECKING:
    from orderdesk.organizations.roles import MemberAccess


class OrderStatus(models.TextChoices):
    STARTED = "started", _("Started")  # checkout page opened, nothing done yet
    IN_PROGRESS = "in_progress", _("In Progress")  # billing filled; also after a failed attempt
    PROCESSING = "processing", _("Processing")  # handed to the provider, waiting for confirmation
    PAID = "paid", _("Paid")  # payment confirmed; post-purchase actions running
    COMPLETED = "completed", _("Completed")  # every action succeeded (or there were none)
    MARKED_COMPLETED = "marked_completed", _("Marked as Completed")  # completed by staff
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially Refunded")
    REFUNDED = "refunded", _("Refunded")

    # Status groups. Tuples in a fixed order: partial index conditions are built from them,
    # and a reordered list would be a new index to the migrations.
    # Paid at some point; reports count these as sales.
    WAS_PAID = nonmember(
        ("paid", "completed", "marked_completed", "partially_refunded", "refunded")
    )
    # Paid orders whose customers are still owed what the actions deliver.
    OWES_ACTIONS = nonmember(("paid", "marked_completed", "partially_refunded"))
    # Orders with something left to refund.
    REFUNDABLE = nonmember(("paid", "completed", "marked_completed", "partially_refunded"))
    # Orders that staff may mark as completed: every paid one.
    COMPLETABLE = nonmember(
        ("paid", "completed", "marked_completed", "partially_refunded", "refunded")
    )


class ActionHealth(models.TextChoices):
    NONE = "none", _("No actions")
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")

    UNFINISHED = nonmember(("pending", "failed"))


class AttentionReason(models.TextChoices):
    """Why an order is on the Requires attention tab; an order may have several."""

    ACTIONS = "actions", _("Actions not finished")
    DISPUTE = "dispute", _("Open dispute")
    REFUND_REVERSED = "refund_reversed", _("Refund reversed by the provider")


def attention_q(reason: AttentionReason, cutoff: dt.datetime | None = None) -> Q:
    """The condition of one reason: the one definition the tab, its counter, the reasons of
    an order and the partial indexes share. `cutoff` (paid before it) applies to actions
    only: they are given a few minutes to finish first; the index leaves it out."""
    if reason == AttentionReason.ACTIONS:
        q = Q(status__in=OrderStatus.OWES_ACTIONS, action_health__in=ActionHealth.UNFINISHED)
        return q & Q(paid_at__lt=cutoff) if cutoff is not None else q
    if reason == AttentionReason.DISPUTE:
        return Q(dispute_open=True)
    return Q(refund_reversal_open=True)


def attention_reasons_at(
    order: Order, now: dt.datetime, minutes: int | None = None
) -> list[AttentionReason]:
    """The reasons `attention_q` gives this loaded order at `now`, read from its fields.

    The table, the panel and the live poll show an order's reasons; as annotations on their
    queries the three conditions cost ~0.7 ms of Python per page to build and compile, for
    columns the row loads anyway. `test_attention_reasons_at_agrees_with_attention_q` holds
    this reading to `attention_q` for every combination of the fields it reads.
    """
    minutes = settings.REQUIRES_ATTENTION_MINUTES if minutes is None else minutes
    reasons = []
    if (
        order.status in OrderStatus.OWES_ACTIONS
        and order.action_health in ActionHealth.UNFINISHED
        and order.paid_at is not None
        and order.paid_at < now - dt.timedelta(minutes=minutes)
    ):
        reasons.append(AttentionReason.ACTIONS)
    if order.dispute_open:
        reasons.append(AttentionReason.DISPUTE)
    if order.refund_reversal_open:
        reasons.append(AttentionReason.REFUND_REVERSED)
    return reasons


def attention_index_q() -> Q:
    """The partial indexes' condition: every reason, without the actions' time limit."""
    q = Q()
    for reason in AttentionReason:
        q |= attention_q(reason)
    return q


class DeviceType(models.TextChoices):
    DESKTOP = "desktop", _("Desktop")
    MOBILE = "mobile", _("Mobile")
    TABLET = "tablet", _("Tablet")
    OTHER = "other", _("Other")


class OrderQuerySet(models.QuerySet["Order"]):
    def visible_to(self, access: MemberAccess) -> OrderQuerySet:
        """The orders of the member's current organization on checkouts they have a role on."""
        if access.current is None:
            return self.none()
        return self.filter(
            organization_id=access.current.organization.pk,
            checkout_id__in=access.visible_checkout_ids,
        )

    def for_token(self, token: ApiToken) -> OrderQuerySet:
        """The orders an API token may see: its checkout's (the organization uses its indexes)."""
        return self.filter(
            organization_id=token.checkout.organization_id, checkout_id=token.checkout_id
        )

    def requiring_attention(
        self,
        now: dt.datetime,
        minutes: int | None = None,
        *,
        reason: AttentionReason | None = None,
    ) -> OrderQuerySet:
        """Orders staff must look at (SPEC §2, issue 12), for every reason or one.

        - actions: statuses that owe actions, action health pending or failed, paid more
          than `minutes` (default `settings.REQUIRES_ATTENTION_MINUTES`) ago;
        - dispute: a payment dispute not closed yet;
        - refund_reversed: a refund the provider reversed after it succeeded, not yet
          handled by staff.

        The conditions imply the partial indexes' (`attention_index_q`), so this stays cheap
        to list and to count.
        """
        return self.filter(self.attention_condition(now, minutes, reason=reason))

    @staticmethod
    def attention_condition(
        now: dt.datetime, minutes: int | None = None, *, reason: AttentionReason | None = None
    ) -> Q:
        minutes = settings.REQUIRES_ATTENTION_MINUTES if minutes is None else minutes
        cutoff = now - dt.timedelta(minutes=minutes)
        if reason is not None:
            return attention_q(reason, cutoff)
        q = Q()
        for each in AttentionReason:
            q |= attention_q(each, cutoff)
        return q

    def was_paid(self) -> OrderQuerySet:
        return self.filter(status__in=OrderStatus.WAS_PAID)


def new_checkout_token() -> str:
    """192 random bits, URL-safe: what the hosted checkout addresses its order by."""
    return secrets.token_urlsafe(24)


class Order(LabelledChoices):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="orders")
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    # Sequential per organization (orders/numbers.py); staff pages and the staff API use
    # this, never the pk.
    number = models.PositiveBigIntegerField()
    # The checkout ingest API addresses the order by this unguessable token, never by its
    # number: a leaked ingest key cannot walk the numbers to read customers (issue 16).
    checkout_token = models.CharField(max_length=64, default=new_checkout_token, editable=False)
    link = models.ForeignKey(
        CheckoutLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )

    # Changed only by orders.transitions.
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.STARTED
    )
    action_health = models.CharField(
        max_length=10, choices=ActionHealth.choices, default=ActionHealth.NONE
    )
    # Requires attention's other reasons (issue 12), kept by orders.transitions: a payment
    # dispute not closed yet, and a refund the provider reversed that staff have not handled.
    dispute_open = models.BooleanField(default=False, db_default=False)
    refund_reversal_open = models.BooleanField(default=False, db_default=False)

    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(default=0)  # before the discount code
    discount_minor = models.BigIntegerField(default=0)
    vat_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)

    # Stored lower-cased so equality filters can use a plain index.
    customer_email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    vat_id = models.CharField(max_length=50, blank=True)
    # Fields the merchant added to the billing form: {"label": "value"}.
    extra_fields = models.JSONField(default=dict, blank=True)
    # None: the customer has not answered the consent banner.
    analytics_consent = models.BooleanField(null=True, blank=True)

    source = models.CharField(max_length=50, blank=True)
    tags = models.JSONField(default=list, blank=True)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    device_type = models.CharField(
        max_length=10, choices=DeviceType.choices, default=DeviceType.OTHER
    )
    user_agent = models.CharField(max_length=500, blank=True)
    # "first last email" without case and accents, for the free-text search's trigram index;
    # kept by the database (orders/folding.py), so no write path can leave it stale.
    search_text = models.GeneratedField(
        expression=SearchText(), output_field=models.TextField(), db_persist=True
    )

    created_at = models.DateTimeField(db_index=False)
    updated_at = models.DateTimeField(auto_now=True)
    # What the live table polls for (workflows/live.py): kept by a database trigger on every
    # insert and update (migration 0012), never by the code. On PostgreSQL the writing
    # transaction's id, on SQLite a counter; NULL for an order not written since.
    change_xid = models.BigIntegerField(null=True, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Set once by Mark as Completed; decides the label "Mark as Completed and Re-run Actions".
    marked_completed_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="unique_order_number"),
            # Built concurrently on PostgreSQL (migration 0010), then attached as the constraint.
            models.UniqueConstraint(fields=["checkout_token"], name="unique_checkout_token"),
        ]
        indexes = [
            # The table: newest first within a checkout, keyset on (created_at, id).
            # Names, source and free text are searched folded (no case, no accents) through
            # PostgreSQL-only expression indexes: migration 0005 and orders/folding.py.
            models.Index(fields=["checkout", "-created_at", "-id"], name="order_checkout_created"),
            models.Index(fields=["checkout", "status", "-created_at"], name="order_status_created"),
            models.Index(fields=["checkout", "customer_email"], name="order_email"),
            models.Index(fields=["discount_code", "-created_at"], name="order_discount_created"),
            models.Index(fields=["checkout", "paid_at"], name="order_checkout_paid"),
            # Requires attention is a small set; a partial index over every reason keeps it
            # cheap to find and count.
            models.Index(
                fields=["checkout", "paid_at"],
                name="order_attention_count",
                condition=attention_index_q(),
                # The counter rechecks every reason's columns; included here, PostgreSQL
                # counts from the index alone (0.2 ms instead of 5 ms at 467 rows).
                include=["status", "action_health", "dispute_open", "refund_reversal_open"],
            ),
            # The tab's page, newest first, stops after 51 rows; through the index above it
            # sorted every order requiring attention (4,000+ heap rows at a million orders).
            models.Index(
                fields=["checkout", "-created_at", "-id"],
                name="order_attention_page",
                condition=attention_index_q(),
            ),
            # The live table's "did anything change since": one probe per poll.
            models.Index(
                fields=["checkout", "change_xid"],
                name="order_checkout_change",
                condition=Q(change_xid__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.number}"

    @property
    def status_label(self) -> str:
        return self.get_status_display()

    @property
    def customer_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def refundable_minor(self) -> int:
        return self.total_minor - self.refunded_minor


class OrderTag(models.Model):
    """One row per tag of an order, so a rare tag finds its orders without scanning them all."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tag_rows")
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=50)
    # The tag without case and accents, kept by the database like `Order.search_text`: the
    # filter compares this column, where calling `od_fold` on each row it passed cost ~6 µs
    # a row (40 ms for a tag on 3 % of a million orders, found walking newest first).
    folded = models.GeneratedField(
        expression=Fold("tag"), output_field=models.CharField(max_length=50), db_persist=True
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "tag"], name="unique_order_tag"),
        ]
        indexes = [
            # A tag's rows in the orders table's order, newest first by (created_at, id): a
            # tag's ids alone are one index-only range scan (`orders.queries.tag_index_ids`).
            # Each row carries its order's checkout and created_at, written with the order.
            models.Index(
                fields=["checkout", "folded", "-created_at", "-order"],
                name="ordertag_folded_order",
            ),
        ]

    def __str__(self) -> str:
        return self.tag


class LineKind(models.TextChoices):
    MAIN = "main", _("Product")
    ORDER_BUMP = "order_bump", _("Order bump")
    PRE_UPSELL = "pre_upsell", _("Pre-upsell")
    UPGRADE = "upgrade", _("Upgrade")


class OrderLine(LabelledChoices):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=12, choices=LineKind.choices, default=LineKind.MAIN)
    product = models.ForeignKey(
        Product, null=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    # The add-on that put this line on the order, if any.
    add_on = models.ForeignKey(
        "catalog.AddOn", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField(default=1)
    # The price the product would have had without the offer's override; for "already discounted".
    list_price_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()  # unit × quantity − discount, VAT included
    refunded_minor = models.BigIntegerField(default=0)
    # Item stamp sent to Paytrail, needed for item-level refunds there.
    stamp = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0), name="line_refunded_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=models.F("total_minor")),
                name="line_refund_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def refundable_minor(self) -> int:
        return self.total_minor - self.refunded_minor


class ActorType(models.TextChoices):
    USER = "user", _("User")
    API_TOKEN = "api_token", _("API token")
    PROVIDER = "provider", _("Provider")
    CUSTOMER = "customer", _("Customer")
    SYSTEM = "system", _("System")


class OrderEvent(LabelledChoices):
    """One entry of an order's timeline: what happened and who did it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Provider name, or the user's email kept in case the user is deleted.
    actor_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["order", "created_at"], name="orderevent_order_created")]

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


class SavedView(models.Model):
    """A named set of the orders table's filters and tab (issue 15; `orders.saved_views`):
    personal to the member or API token who saved it, or shared with the checkout's team."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    # The filters as the table's query string, checked by OrderFilterForm when saved.
    query = models.CharField(max_length=2000, blank=True)
    shared = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    owner_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_views"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, owner_token__isnull=True)
                | Q(owner__isnull=True, owner_token__isnull=False),
                name="savedview_one_owner",
            )
        ]
        indexes = [models.Index(fields=["checkout", "shared"], name="savedview_checkout_shared")]

    def __str__(self) -> str:
        return self.name


class DefaultView(models.Model):
    """The saved view a member (or an API token) opens the orders page with, per checkout."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="defaults")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, token__isnull=True)
                | Q(user__isnull=True, token__isnull=False),
                name="defaultview_one_owner",
            ),
            models.UniqueConstraint(
                fields=["user", "checkout"],
                condition=Q(user__isnull=False),
                name="defaultview_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["token", "checkout"],
                condition=Q(token__isnull=False),
                name="defaultview_one_per_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.view} (default)"
