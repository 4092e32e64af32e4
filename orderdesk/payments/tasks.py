"""Background work of the payments app: thin wrappers around services."""

from __future__ import annotations

from django.tasks import task

from orderdesk.payments.services import reconcile_pending_refunds


@task()
def reconcile_refunds_task() -> int:
    return reconcile_pending_refunds()
