"""The schedule's state: one row per periodic job, which the workers claim to run it."""

from __future__ import annotations

from django.db import models


class ScheduledJob(models.Model):
    """When a job is next due, and how its last run went."""

    name = models.CharField(max_length=50, primary_key=True)
    next_run_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)

    def __str__(self) -> str:
        return self.name
