"""State of the local Kajabi and webhook-receiver sandboxes (demo and tests only)."""

from __future__ import annotations

from django.db import models


class SandboxMode(models.TextChoices):
    OK = "ok", "Answer normally"
    INVALID_EMAIL = "invalid_email", "422 Email: is invalid"
    SERVER_ERROR = "server_error", "500 Internal Server Error"
    TIMEOUT = "timeout", "Never answer in time"


class SandboxKajabiOffer(models.Model):
    """One Kajabi offer's webhook URLs, keyed by the offer part of the URL."""

    key = models.CharField(max_length=100, unique=True)
    mode = models.CharField(max_length=20, choices=SandboxMode.choices, default=SandboxMode.OK)

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

    def __str__(self) -> str:
        return self.delivery_id
