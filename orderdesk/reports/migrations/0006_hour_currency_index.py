"""An index on `SalesHour` with the currency before the hour, so that a converted report reads
the display currency's rows and the other currencies' rows as ranges of only the rows it keeps
(issue 16, point 5). Built concurrently: the table holds about as many rows as there are orders.
"""

from django.db import migrations, models

from orderdesk.lib.migrations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reports", "0005_hour_parts"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="saleshour",
            index=models.Index(
                fields=["checkout", "grain", "currency", "hour"],
                name="saleshour_grain_currency_hour",
            ),
        ),
    ]
