"""Give refunds recorded only their booking time, and rebuild the report days they join.

Until now a refund recorded without moving money was booked with no `settled_at`, so the
reports (which count refunds on their booking time) never saw it. Its booking time is taken
to be when it was recorded (`created_at`). Each checkout's rollup is then wound back to the
first day such a refund joins: those days read live at once and the worker's rollup job
(`roll_up_all`, or `manage.py roll_up_reports`) builds them again from the orders.

It lives in `reports` because it changes the rollup, which sits above `payments`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.db import migrations
from django.db.models import F


def book_recorded_refunds(apps: Any, schema_editor: Any) -> None:
    Refund = apps.get_model("payments", "Refund")
    RollupState = apps.get_model("reports", "RollupState")
    SalesDay = apps.get_model("reports", "SalesDay")
    # Recorded refunds, and reversed ones that were recorded (a reversal keeps the refund);
    # a pending refund is not booked yet, every other status was stamped when it settled.
    unstamped = Refund.objects.filter(settled_at__isnull=True).exclude(status="pending")
    first: dict[int, Any] = {}
    for checkout_id, created_at in unstamped.values_list("order__checkout_id", "created_at"):
        if checkout_id not in first or created_at < first[checkout_id]:
            first[checkout_id] = created_at
    unstamped.update(settled_at=F("created_at"))
    for state in RollupState.objects.filter(checkout_id__in=list(first)):
        day = first[state.checkout_id].astimezone(ZoneInfo(state.time_zone)).date()
        if day < state.complete_until:
            SalesDay.objects.filter(checkout_id=state.checkout_id, day__gte=day).delete()
            state.complete_until = day
            state.save(update_fields=["complete_until"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_refund_request_fingerprint"),
        ("reports", "0001_daily_rollup"),
    ]

    operations = [migrations.RunPython(book_recorded_refunds, migrations.RunPython.noop)]
