# Issue 16: order numbers come from a sequence per organization (orders 0008), so the counter
# on the organization's row goes. Processes of the previous release still read and write the
# column while this release migrates, so on PostgreSQL the column stays for now with a
# default (new code inserts organizations without it; setting a constant default rewrites
# nothing); the release after this drops it. SQLite (development, the demo) drops it at once.

from django.db import migrations


def keep_column_with_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE organizations_organization ALTER COLUMN last_order_number SET DEFAULT 0"
        )
    else:
        Organization = apps.get_model("organizations", "Organization")
        schema_editor.remove_field(Organization, Organization._meta.get_field("last_order_number"))


def restore_column(apps, schema_editor):
    Organization = apps.get_model("organizations", "Organization")
    field = Organization._meta.get_field("last_order_number")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE organizations_organization ALTER COLUMN last_order_number DROP DEFAULT"
        )
    else:
        schema_editor.add_field(Organization, field)
    schema_editor.execute(
        "UPDATE organizations_organization SET last_order_number = coalesce("
        "(SELECT max(number) FROM orders_order WHERE organization_id = organizations_organization.id), 0)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0005_user_language'),
        ('orders', '0008_order_number_sequences'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # Runs with the model state before the removal, so the field is still known.
                migrations.RunPython(keep_column_with_default, restore_column, elidable=False),
            ],
            state_operations=[
                migrations.RemoveField(model_name='organization', name='last_order_number'),
            ],
        ),
    ]
