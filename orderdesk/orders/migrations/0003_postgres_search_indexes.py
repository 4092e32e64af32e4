"""PostgreSQL-only indexes for the orders table's substring searches.

Trigram (pg_trgm) GIN indexes let `email contains` and the free-text box (email, first or last
name) find a handful of orders among millions without scanning the created-time index.
SQLite has no pg_trgm; there the migration does nothing and the same queries scan.
"""

from django.db import migrations

INDEXES = {
    "order_email_trgm": "customer_email gin_trgm_ops",
    "order_first_name_trgm": "lower(first_name) gin_trgm_ops",
    "order_last_name_trgm": "lower(last_name) gin_trgm_ops",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON orders_order USING gin ({expression})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
