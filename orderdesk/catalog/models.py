"""What a checkout sells: products, offers, add-ons, links, discount codes, action configs."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.models import LabelledChoices
from orderdesk.organizations.models import Checkout


class ProductType(models.TextChoices):
    ONLINE_COURSE = "online_course", _("Online course")
    DIGITAL_CONTENT = "digital_content", _("Digital content")
    EBOOK = "ebook", _("E-book")
    MEMBERSHIP = "membership", _("Membership")
    EVENT_TICKET = "event_ticket", _("Event ticket")
    SERVICE = "service", _("Service")


class Product(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    type = models.CharField(
        max_length=20, choices=ProductType.choices, default=ProductType.ONLINE_COURSE
    )
    # Percent, e.g. 25.5 for the Finnish standard rate. Prices include VAT.
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class ProductPrice(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    amount_minor = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "currency"], name="unique_product_price"),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.amount_minor} {self.currency}"


class Offer(models.Model):
    """What a checkout link sells: one or more products, add-ons and its own actions."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    currencies = models.JSONField(default=list, help_text="Currencies this offer can be bought in.")
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class OfferItem(models.Model):
    """A product of an offer, optionally at an offer-specific price per currency."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="offer_items")
    position = models.PositiveSmallIntegerField(default=0)
    quantity = models.PositiveSmallIntegerField(default=1)
    # {"EUR": 4900}: overrides the product's own price in that currency.
    price_overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "product"], name="unique_offer_item"),
        ]

    def __str__(self) -> str:
        return f"{self.offer}: {self.product}"


class AddOnKind(models.TextChoices):
    ORDER_BUMP = "order_bump", _("Order bump")
    PRE_UPSELL = "pre_upsell", _("Pre-upsell")


class AddOnEffect(models.TextChoices):
    ADD = "add", _("Adds a product")
    UPGRADE = "upgrade", _("Upgrades a product")


class AddOn(LabelledChoices):
    """An extra product on an offer: ticked on the page (bump) or a step before payment."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="add_ons")
    kind = models.CharField(max_length=12, choices=AddOnKind.choices)
    effect = models.CharField(max_length=8, choices=AddOnEffect.choices, default=AddOnEffect.ADD)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="add_ons")
    # For upgrades: the offer's product this add-on replaces.
    upgrades = models.ForeignKey(
        OfferItem, null=True, blank=True, on_delete=models.CASCADE, related_name="upgrade_add_ons"
    )
    title = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    price_overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.product}"


class CheckoutLink(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="links")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="links")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    source = models.CharField(
        max_length=50, blank=True, help_text="Meta, Google, Email, Instagram..."
    )
    tags = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "slug"], name="unique_link_slug"),
        ]

    def __str__(self) -> str:
        return self.name


class DiscountKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage")
    FIXED = "fixed", _("Fixed amount")


class DiscountCode(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="discount_codes")
    code = models.CharField(max_length=50)
    kind = models.CharField(max_length=12, choices=DiscountKind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # {"EUR": 1000, "SEK": 11000}: a fixed discount is set per currency.
    fixed_amounts = models.JSONField(default=dict, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    per_email_limit = models.PositiveIntegerField(null=True, blank=True)
    # Counts paid orders; checked against usage_limit when the code is applied.
    times_used = models.PositiveIntegerField(default=0)
    # Empty means every product.
    products = models.ManyToManyField(Product, blank=True, related_name="discount_codes")
    exclude_discounted = models.BooleanField(
        default=False, help_text="Skip products already sold below their own price on the offer."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Codes are matched case-insensitively, so they must be unique that way too.
            models.UniqueConstraint(Upper("code"), "checkout", name="unique_discount_code"),
        ]

    def __str__(self) -> str:
        return self.code


class ActionLevel(models.TextChoices):
    PRODUCT = "product", _("Product")
    OFFER = "offer", _("Offer")
    CHECKOUT = "checkout", _("Checkout")


class ActionKind(models.TextChoices):
    SEND_RECEIPT = "send_receipt", _("Send receipt email")
    KAJABI_GRANT = "kajabi_grant", _("Grant Kajabi offer")
    WEBHOOK = "webhook", _("Webhook")
    CUSTOM_EMAIL = "custom_email", _("Custom email")


class ActionConfig(LabelledChoices):
    """A post-purchase action as configured now; orders keep snapshots of it."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="action_configs")
    level = models.CharField(max_length=10, choices=ActionLevel.choices)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="action_configs"
    )
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="action_configs"
    )
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    name = models.CharField(max_length=200, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    # Bumped on every change, so a snapshot tells which configuration it was taken from.
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(level="product", product__isnull=False, offer__isnull=True)
                    | models.Q(level="offer", offer__isnull=False, product__isnull=True)
                    | models.Q(level="checkout", product__isnull=True, offer__isnull=True)
                ),
                name="action_config_level_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} ({self.get_level_display()})"
