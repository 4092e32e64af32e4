# Issue 16: step 2 of 2 of the checkout token. Safe on a live million-order table:
# - existing orders get their tokens in batches of 5,000, each UPDATE its own short
#   transaction (the migration is not atomic), so no lock is held for long;
# - on PostgreSQL the unique index is built CONCURRENTLY (writes go on meanwhile), then
#   attached as the constraint `unique_checkout_token` (a catalogue change);
# - NOT NULL comes from a CHECK constraint added NOT VALID and validated without blocking
#   writes, which lets SET NOT NULL skip its scan of the table (PostgreSQL 12+).
# Run again after a failure, it picks up where it stopped. SQLite (development, the demo) has
# no concurrent writers to spare: there the constraint and NOT NULL are Django's own.

import secrets

from django.db import migrations, models

import orderdesk.orders.models

BATCH = 5000


def fill_tokens(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    connection = schema_editor.connection
    last = 0
    while True:
        ids = list(
            Order.objects.filter(pk__gt=last, checkout_token__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return
        last = ids[-1]
        tokens = [(pk, secrets.token_urlsafe(24)) for pk in ids]
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s, %s)"] * len(tokens))
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE orders_order SET checkout_token = v.token "
                    f"FROM (VALUES {values}) AS v(id, token) "
                    "WHERE orders_order.id = v.id AND orders_order.checkout_token IS NULL",
                    [part for row in tokens for part in row],
                )
        else:
            Order.objects.bulk_update(
                [Order(pk=pk, checkout_token=token) for pk, token in tokens],
                ["checkout_token"],
                batch_size=500,
            )


def unique_and_not_null(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_constraint(
            Order, models.UniqueConstraint(fields=["checkout_token"], name="unique_checkout_token")
        )
        old = Order._meta.get_field("checkout_token")
        new = models.CharField(
            default=orderdesk.orders.models.new_checkout_token, editable=False, max_length=64
        )
        new.set_attributes_from_name("checkout_token")
        new.model = Order
        schema_editor.alter_field(Order, old, new)
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conname = 'unique_checkout_token'"
        )
        if cursor.fetchone() is None:
            # An index left invalid by an interrupted concurrent build is built again.
            cursor.execute(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'unique_checkout_token'"
            )
            row = cursor.fetchone()
            if row is not None and not row[0]:
                cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS unique_checkout_token")
            cursor.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS unique_checkout_token "
                "ON orders_order (checkout_token)"
            )
            cursor.execute("SET lock_timeout = '5s'")
            cursor.execute(
                "ALTER TABLE orders_order ADD CONSTRAINT unique_checkout_token "
                "UNIQUE USING INDEX unique_checkout_token"
            )
        cursor.execute("SET lock_timeout = '5s'")
        cursor.execute(
            "ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS order_checkout_token_not_null"
        )
        cursor.execute(
            "ALTER TABLE orders_order ADD CONSTRAINT order_checkout_token_not_null "
            "CHECK (checkout_token IS NOT NULL) NOT VALID"
        )
        cursor.execute("SET lock_timeout = 0")
        cursor.execute("ALTER TABLE orders_order VALIDATE CONSTRAINT order_checkout_token_not_null")
        cursor.execute("SET lock_timeout = '5s'")
        cursor.execute("ALTER TABLE orders_order ALTER COLUMN checkout_token SET NOT NULL")
        cursor.execute("ALTER TABLE orders_order DROP CONSTRAINT order_checkout_token_not_null")
        cursor.execute("RESET lock_timeout")


def drop_unique_and_not_null(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    if schema_editor.connection.vendor != "postgresql":
        old = Order._meta.get_field("checkout_token")
        new = models.CharField(editable=False, max_length=64, null=True)
        new.set_attributes_from_name("checkout_token")
        new.model = Order
        schema_editor.alter_field(Order, old, new)
        schema_editor.remove_constraint(
            Order, models.UniqueConstraint(fields=["checkout_token"], name="unique_checkout_token")
        )
        return
    schema_editor.execute("ALTER TABLE orders_order ALTER COLUMN checkout_token DROP NOT NULL")
    schema_editor.execute("ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS unique_checkout_token")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orders', '0009_order_checkout_token'),
    ]

    operations = [
        migrations.RunPython(fill_tokens, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(unique_and_not_null, drop_unique_and_not_null, elidable=False),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='order',
                    name='checkout_token',
                    field=models.CharField(default=orderdesk.orders.models.new_checkout_token, editable=False, max_length=64),
                ),
                migrations.AddConstraint(
                    model_name='order',
                    constraint=models.UniqueConstraint(fields=('checkout_token',), name='unique_checkout_token'),
                ),
            ],
        ),
    ]
