"""Tenancy: organizations, their checkouts, the people and tokens that may act on them."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.models import LabelledChoices


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        """A platform operator with every permission in the Django admin."""
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_platform_operator", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A staff member of one or more merchants; logs in with their email address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # Blank means "the organization's time zone".
    time_zone = models.CharField(max_length=64, blank=True)
    # The UI's language; blank means "the browser's" (web.middleware.StaffLanguageMiddleware).
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    # The Django admin spans every organization: only the platform's own operators use it,
    # never a merchant's staff, whatever their organization role (orderdesk/admin_site.py).
    is_platform_operator = models.BooleanField(
        default=False, help_text="May use the Django admin, across every organization."
    )
    # Whether the user has a confirmed authenticator app. The second factor's gate asks on
    # every request; the user row is read anyway, so a copy here saves a query per page.
    # Kept in step with the devices by organizations/second_factor.py's receivers.
    has_authenticator = models.BooleanField(default=False, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """The merchant: the top-level tenant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Helsinki")
    default_currency = models.CharField(max_length=3, default="EUR")
    # Orders are numbered 1, 2, 3... per organization by a sequence of its own
    # (orders/numbers.py); the counter that was here is gone (organizations 0006).
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Everyone who may refund, complete or re-run on its checkouts must sign in "
        "with a second factor (an authenticator app).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class OrgRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class CheckoutRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MAINTAINER = "maintainer", _("Maintainer")
    VIEWER = "viewer", _("Viewer")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")


class Membership(models.Model):
    """A user's role in an organization. Owners and admins are admin on every checkout."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.organization}"


def hash_secret(raw: str) -> str:
    # The secrets are 32 random bytes, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class Checkout(models.Model):
    """A storefront of an organization with its own catalog, links and orders."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="checkouts"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField()
    # The checkout page authenticates to the ingest API with this key; only its hash is kept.
    ingest_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    ingest_key_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="unique_checkout_slug"),
        ]

    def __str__(self) -> str:
        return self.name

    def rotate_ingest_key(self) -> str:
        """Set a new ingest key and return it; the raw key is shown once and never stored."""
        raw = "ck_" + secrets.token_urlsafe(32)
        self.ingest_key_hash = hash_secret(raw)
        self.ingest_key_prefix = raw[:10]
        return raw


class CheckoutMembership(models.Model):
    """A user's role on one checkout."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="checkout_memberships")
    role = models.CharField(max_length=16, choices=CheckoutRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "user"], name="unique_checkout_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} on {self.checkout}"


class ApiToken(LabelledChoices):
    """A token for the merchant's developers, with a checkout role like a user's."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(
        max_length=16, choices=CheckoutRole.choices, default=CheckoutRole.VIEWER
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(
        cls, *, checkout: Checkout, name: str, role: str, created_by: User | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token and return it with its raw value, which is shown once."""
        raw = "od_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            checkout=checkout,
            name=name,
            role=role,
            token_hash=hash_secret(raw),
            prefix=raw[:10],
            created_by=created_by,
        )
        return token, raw


class PasswordResetRequest(models.Model):
    """One password reset email asked for, kept an hour to rate-limit them per email address
    and per client address (`organizations.password_resets`)."""

    # The email address's SHA-256, not the address: most requests name no account, and what
    # strangers type is not kept.
    email_digest = models.CharField(max_length=64)
    address = models.GenericIPAddressField(null=True)
    requested_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["email_digest", "requested_at"], name="reset_email_idx"),
            models.Index(fields=["address", "requested_at"], name="reset_address_idx"),
            models.Index(fields=["requested_at"], name="reset_requested_idx"),
        ]

    def __str__(self) -> str:
        return f"Password reset from {self.address} at {self.requested_at:%Y-%m-%d %H:%M}"
