"""Refund lines keep the VAT they give back (`RefundLine.vat_minor`), stamped at booking.

Existing refunds get it here, computed as booking does (`orders.pricing.refund_line_vat`):
each order line's booked refunds in the order they were booked, each giving back the VAT of
what it adds to the line's refunded part. A reversed refund gets the VAT of its amount as if
it were the line's first refund (it counts nowhere, but its credit note can be read again);
pending and failed refunds stay empty until they are booked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import migrations, models

from orderdesk.orders.pricing import refund_line_vat

BOOKED = ("succeeded", "recorded")


def stamp_refund_vat(apps: Any, schema_editor: Any) -> None:
    RefundLine = apps.get_model("payments", "RefundLine")
    rows = (
        RefundLine.objects.filter(
            vat_minor__isnull=True, refund__status__in=[*BOOKED, "reversed"]
        )
        .order_by("refund__settled_at", "refund__created_at", "refund_id", "pk")
        .values_list(
            "pk",
            "order_line_id",
            "amount_minor",
            "refund__status",
            "order_line__vat_minor",
            "order_line__total_minor",
        )
    )
    refunded: dict[int, int] = defaultdict(int)
    batch = []
    for pk, line_id, amount, status, vat, total in rows.iterator(chunk_size=5000):
        before = refunded[line_id] if status in BOOKED else 0
        batch.append(RefundLine(pk=pk, vat_minor=refund_line_vat(vat, total, before, amount)))
        if status in BOOKED:
            refunded[line_id] = min(total, before + amount)
        if len(batch) == 2000:
            RefundLine.objects.bulk_update(batch, ["vat_minor"])
            batch = []
    RefundLine.objects.bulk_update(batch, ["vat_minor"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_provideraccount_paytrail_shop_in_shop_epassi_refunds"),
    ]

    operations = [
        migrations.AddField(
            model_name="refundline",
            name="vat_minor",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(stamp_refund_vat, migrations.RunPython.noop),
    ]
