# Issue 16: the token the checkout ingest API addresses an order by. Step 1 of 2, safe on a
# live million-order table: a nullable column without default is a catalogue change only.
# Processes of the previous release keep inserting orders without a token while this release
# migrates, so on PostgreSQL the column gets a database default for them (a volatile default
# set on an existing column applies to new rows only: no rewrite). 0010 fills the rest.

from django.db import migrations, models


def database_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL lock_timeout = '5s'")
        schema_editor.execute(
            "ALTER TABLE orders_order ALTER COLUMN checkout_token "
            "SET DEFAULT replace(gen_random_uuid()::text, '-', '')"
        )


def drop_database_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE orders_order ALTER COLUMN checkout_token DROP DEFAULT")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0008_order_number_sequences'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='checkout_token',
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(database_default, drop_database_default, elidable=False),
    ]
