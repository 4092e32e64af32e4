"""VAT per rate in the rollup: two grains (paid lines and counted refund lines by VAT rate)
and the columns they need, then the rollup is built again.

Days rolled up before have no rows of the new grains, so the whole rollup is emptied: until
the worker's rollup job (every five minutes; `manage.py roll_up_reports` at once) has built
it again from the orders, reports read the live tables and give the same figures, only
slower over long periods. The rollup holds nothing that the orders do not.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def empty_rollup(apps: Any, schema_editor: Any) -> None:
    apps.get_model("reports", "RollupState").objects.all().delete()
    apps.get_model("reports", "SalesDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_refundline_vat_minor"),
        ("reports", "0002_book_recorded_refunds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="salesday",
            name="grain",
            field=models.CharField(
                choices=[
                    ("channel", "Source, checkout link and offer"),
                    ("place", "Country and region"),
                    ("visitor", "Device and analytics consent"),
                    ("line", "Order lines by product, kind, add-on, offer and source"),
                    ("method", "Settled payments by provider and method"),
                    ("refund", "Counted refunds"),
                    ("vat", "Order lines by VAT rate"),
                    ("refund_vat", "Lines of counted refunds by VAT rate"),
                ],
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="salesday",
            name="vat_rate",
            field=models.DecimalField(decimal_places=2, max_digits=5, null=True),
        ),
        migrations.AddField(
            model_name="salesday",
            name="vat_minor",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(empty_rollup, migrations.RunPython.noop),
    ]
