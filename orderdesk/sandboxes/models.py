"""The sandboxes' state: provider-side objects, the webhooks and callbacks the provider
sandboxes send, and what the Kajabi and webhook-receiver sandboxes received.

Each model names its app and its table: the demo's modules import these in a configuration
without the sandboxes (`generate_orders` on a production-configured database), where the
classes exist without tables and the demo checks `sandboxes_installed()` before touching them;
and the tables keep the names they had before the sandboxes were an app of their own (see
migrations/0001_initial.py).
"""

from __future__ import annotations

from django.db import models


class SandboxObject(models.Model):
    """One object at a sandboxed provider: a PaymentIntent, a refund, an idempotency record..."""

    provider = models.CharField(max_length=10)
    kind = models.CharField(max_length=30)
    key = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "sandboxes"
        db_table = "sandbox_sandboxobject"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "key"], name="unique_sandbox_object"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.key}"


class SandboxDelivery(models.Model):
    """A webhook or callback the sandbox sends to Orderdesk, signed when it goes out."""

    provider = models.CharField(max_length=10)
    method = models.CharField(max_length=6, default="POST")
    url = models.CharField(max_length=2000)
    body = models.TextField(blank=True)
    # How to sign at send time, e.g. {"scheme": "stripe", "secret": "whsec_…"}.
    signing = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        app_label = "sandboxes"
        db_table = "sandbox_sandboxdelivery"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.provider} {self.method} {self.url}"


class SandboxMode(models.TextChoices):
    OK = "ok", "Answer normally"
    INVALID_EMAIL = "invalid_email", "422 Email: is invalid"
    SERVER_ERROR = "server_error", "500 Internal Server Error"
    TIMEOUT = "timeout", "Never answer in time"


class SandboxKajabiOffer(models.Model):
    """One Kajabi offer's webhook URLs, keyed by the offer part of the URL."""

    key = models.CharField(max_length=100, unique=True)
    mode = models.CharField(max_length=20, choices=SandboxMode.choices, default=SandboxMode.OK)

    class Meta:
        app_label = "sandboxes"
        db_table = "actions_sandboxkajabioffer"

    def __str__(self) -> str:
        return self.key


class SandboxKajabiGrant(models.Model):
    offer = models.ForeignKey(SandboxKajabiOffer, on_delete=models.CASCADE, related_name="grants")
    external_user_id = models.CharField(max_length=200)
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    grant_email_sent = models.BooleanField(default=False)
    activations = models.PositiveIntegerField(default=0)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "sandboxes"
        db_table = "actions_sandboxkajabigrant"
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "external_user_id"], name="sandbox_unique_kajabi_grant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer}: {self.email}"


class SandboxWebhookEndpoint(models.Model):
    key = models.CharField(max_length=100, unique=True)
    secret = models.CharField(max_length=200, default="sandbox-webhook-secret")
    mode = models.CharField(max_length=20, choices=SandboxMode.choices, default=SandboxMode.OK)

    class Meta:
        app_label = "sandboxes"
        db_table = "actions_sandboxwebhookendpoint"

    def __str__(self) -> str:
        return self.key


class SandboxWebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        SandboxWebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.CharField(max_length=100)
    signature_valid = models.BooleanField()
    is_duplicate = models.BooleanField(default=False)
    body = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "sandboxes"
        db_table = "actions_sandboxwebhookdelivery"

    def __str__(self) -> str:
        return self.delivery_id
