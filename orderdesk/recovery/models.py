"""Recovering many orders at once (issue 15): bulk jobs with their items, and failure alerts."""

from __future__ import annotations

from enum import nonmember

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orderdesk.lib.models import LabelledChoices
from orderdesk.orders.models import Order
from orderdesk.organizations.models import ApiToken, Checkout


class BulkVerb(models.TextChoices):
    RERUN_FAILED = "rerun_failed", _("Re-run failed actions")
    MARK_COMPLETED = "mark_completed", _("Mark as Completed")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")

    UNFINISHED = nonmember(("queued", "running"))


class BulkJob(LabelledChoices):
    """One verb over a fixed set of orders of one checkout, run in the background.

    The set is written as items when the job is made, so the job does what its confirmation
    showed even if orders change meanwhile. A worker claims the job with a conditional UPDATE
    and reports a heartbeat after each order; a job whose heartbeat is older than
    `BULK_STALE_SECONDS` is taken over, and goes on with the items still pending.
    """

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    verb = models.CharField(max_length=20, choices=BulkVerb.choices)
    use_latest_config = models.BooleanField(default=False)
    # What the job was made from, for people: "Grant Kajabi offer: Kajabi answered …".
    description = models.CharField(max_length=300, blank=True)
    # The failure group the job was made from (`causes.action_cause`), if any: its re-run
    # re-runs that cause's failed actions only, not every failed action of its orders.
    cause = models.CharField(max_length=80, blank=True, default="")
    # The request's key (the form's, the API's Idempotency-Key): the same key makes one job.
    request_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # The claim of the worker running it; a new one is drawn at each takeover.
    claim = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Hidden from the orders page's list of jobs by the one who closed it.
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "request_key"], name="bulk_job_key"),
        ]
        indexes = [
            # The sweep's: unfinished jobs only.
            models.Index(
                fields=["status", "heartbeat_at"],
                name="bulk_job_unfinished",
                condition=Q(status__in=list(JobStatus.UNFINISHED)),
            ),
            models.Index(fields=["checkout", "-created_at"], name="bulk_job_checkout"),
        ]

    def __str__(self) -> str:
        return f"Bulk job {self.pk}: {self.verb}"

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def is_finished(self) -> bool:
        return self.status == JobStatus.FINISHED

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total


class ItemOutcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class BulkJobItem(models.Model):
    """One order of a bulk job and what the job did to it; processed once per job."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="items")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    outcome = models.CharField(
        max_length=10, choices=ItemOutcome.choices, default=ItemOutcome.PENDING
    )
    reason = models.CharField(max_length=300, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "order"], name="bulk_item_once"),
        ]
        indexes = [
            models.Index(fields=["job", "outcome", "position"], name="bulk_item_next"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.order_id}: {self.outcome}"


class FailureAlert(models.Model):
    """An outage of one cause on one checkout: emailed when it opens and when it recovers.

    At most one open alert per checkout and cause, whatever races, so an outage sends one
    email however many orders fail in it.
    """

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=80)
    label = models.CharField(max_length=300)
    failures = models.PositiveIntegerField()
    opened_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    recovered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["checkout", "cause"],
                condition=Q(recovered_at=None),
                name="one_open_alert_per_cause",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cause} on {self.checkout_id}"
