"""Sandbox state: provider-side objects and the webhooks/callbacks they send."""

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
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.provider} {self.method} {self.url}"
