"""Background entry points; each loads by id and calls one service."""

from __future__ import annotations

from django.tasks import task

from orderdesk.actions import services


@task()
def sweep_actions_task() -> int:
    return services.sweep_actions()
