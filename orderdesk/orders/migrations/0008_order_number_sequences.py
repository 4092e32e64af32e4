# Issue 16: order numbers from one PostgreSQL sequence per organization instead of a counter
# on the organization's row that every open locked (orders/numbers.py). New organizations get
# theirs on creation; this makes them for the existing ones, continuing after the highest of
# their counter and their orders' numbers. Creating sequences locks no table. SQLite needs
# none (the INSERT reads the highest number itself).

from django.db import migrations


def create_sequences(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    Organization = apps.get_model("organizations", "Organization")
    with connection.cursor() as cursor:
        for org_id, counter in Organization.objects.values_list("pk", "last_order_number"):
            name = f"order_number_{int(org_id)}"
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} AS bigint MINVALUE 1")
            cursor.execute(
                "SELECT coalesce(max(number), 0) FROM orders_order WHERE organization_id = %s",
                [org_id],
            )
            highest = max(int(cursor.fetchone()[0]), int(counter))
            if highest > 0:
                cursor.execute("SELECT setval(%s, %s)", [name, highest])


def drop_sequences(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    Organization = apps.get_model("organizations", "Organization")
    with connection.cursor() as cursor:
        for org_id in Organization.objects.values_list("pk", flat=True):
            cursor.execute(f"DROP SEQUENCE IF EXISTS order_number_{int(org_id)}")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0007_attention_reasons'),
        ('organizations', '0005_user_language'),
    ]

    operations = [
        migrations.RunPython(create_sequences, drop_sequences, elidable=False),
    ]
