"""The tag filter compares a stored folded tag (`OrderTag.folded`, a generated column) instead
of calling `od_fold` on every tag row it passes: a tag on 3 % of a million orders, found by
walking the newest orders, called it ~6,000 times a page (40 ms). The PostgreSQL-only
expression index of migration 0005 gives way to an ordinary index on the column, which SQLite
gets too. Adding the column rewrites orders_ordertag (seconds for two million rows)."""

from django.db import migrations, models

import orderdesk.orders.folding


def drop_expression_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ordertag_folded")


def create_expression_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS ordertag_folded"
            " ON orders_ordertag (checkout_id, od_fold(tag), created_at DESC)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_folded_search"),
    ]

    operations = [
        migrations.RunPython(drop_expression_index, create_expression_index, elidable=False),
        migrations.AddField(
            model_name="ordertag",
            name="folded",
            field=models.GeneratedField(
                db_persist=True,
                expression=orderdesk.orders.folding.Fold("tag"),
                output_field=models.CharField(max_length=50),
            ),
        ),
        migrations.AddIndex(
            model_name="ordertag",
            index=models.Index(
                fields=["checkout", "folded", "-created_at"], name="ordertag_folded"
            ),
        ),
    ]
