"""Post-purchase actions of an order: the configuration it was sold with, and every run."""

from __future__ import annotations

from enum import nonmember

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orderdesk.catalog.models import ActionConfig, ActionKind, ActionLevel, Product
from orderdesk.lib.models import LabelledChoices
from orderdesk.orders.models import Order


class SnapshotStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REVOKED = "revoked", _("Access removed")


class ActionSnapshot(LabelledChoices):
    """An action configured for an order, frozen when the order was opened."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="action_snapshots")
    config = models.ForeignKey(
        ActionConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots"
    )
    config_version = models.PositiveIntegerField(default=1)
    level = models.CharField(max_length=10, choices=ActionLevel.choices)
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    # For product-level actions: the product whose purchase this action serves.
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True)
    settings = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["status", "last_run_at"], name="snapshot_status")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """Its configured name, else its kind."""
        return self.name or self.get_kind_display()

    @property
    def access_removal_failed(self) -> bool:
        """A refund asked to remove the access this action granted, and the last try failed
        for good (its retries are used up). Reads prefetched `runs` when there are some."""
        if self.status != SnapshotStatus.SUCCEEDED:
            return False
        latest = max(self.runs.all(), key=lambda r: (r.created_at, r.pk), default=None)
        return (
            latest is not None
            and latest.operation == RunOperation.REVOKE
            and latest.status == RunStatus.FAILED
        )


class RunOperation(models.TextChoices):
    RUN = "run", _("Run")
    REVOKE = "revoke", _("Revoke")
    RESEND = "resend", _("Resend")  # an email action's email again, asked for by staff


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")

    # A run a worker holds or will pick up; at most one per snapshot.
    ACTIVE = nonmember(("queued", "running"))


class ActionRun(LabelledChoices):
    """One execution of a snapshot; also the outbox row a worker claims."""

    snapshot = models.ForeignKey(ActionSnapshot, on_delete=models.CASCADE, related_name="runs")
    operation = models.CharField(
        max_length=6, choices=RunOperation.choices, default=RunOperation.RUN
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempt = models.PositiveIntegerField(default=1)
    # Not before this time (backoff); a worker that dies leaves `claimed_until` in the past.
    run_after = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The customer this run acts for when it is not the order's address now: removing access
    # under the address a corrected email replaced. Blank: the order's.
    customer_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["run_after"],
                name="actionrun_due",
                condition=Q(status__in=list(RunStatus.ACTIVE)),
            ),
        ]
        constraints = [
            # At most one run of a snapshot is queued or running, whatever races.
            models.UniqueConstraint(
                fields=["snapshot"],
                condition=Q(status__in=list(RunStatus.ACTIVE)),
                name="one_active_run_per_snapshot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.snapshot} #{self.attempt} {self.status}"
