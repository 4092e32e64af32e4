"""The sandboxes' tables, under the names they had before the sandboxes were an app of their own.

Databases made before then (the demo's SQLite file, the benchmark database) hold these tables
already, with their rows: `actions` 0003 created the Kajabi and webhook-receiver tables, the old
`sandbox` app (orderdesk.payments.sandbox) the provider ones. For such a database this
migration only adds the models to the migration state and leaves the tables alone; a new
database gets the tables here. A production configuration does not install this app, so its
migrations create none of them.
"""

from django.db import migrations, models
import django.db.models.deletion

MODES = [
    ("ok", "Answer normally"),
    ("invalid_email", "422 Email: is invalid"),
    ("server_error", "500 Internal Server Error"),
    ("timeout", "Never answer in time"),
]


class CreateModelUnlessPresent(migrations.CreateModel):
    """CreateModel that adopts a table of the same name instead of failing on it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.name)
        if model._meta.db_table in schema_editor.connection.introspection.table_names():
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        CreateModelUnlessPresent(
            name="SandboxObject",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=10)),
                ("kind", models.CharField(max_length=30)),
                ("key", models.CharField(max_length=200)),
                ("data", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "db_table": "sandbox_sandboxobject",
                "constraints": [models.UniqueConstraint(fields=("provider", "kind", "key"), name="unique_sandbox_object")],
            },
        ),
        CreateModelUnlessPresent(
            name="SandboxDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(max_length=10)),
                ("method", models.CharField(default="POST", max_length=6)),
                ("url", models.CharField(max_length=2000)),
                ("body", models.TextField(blank=True)),
                ("signing", models.JSONField(blank=True, default=dict)),
                ("description", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_status", models.PositiveIntegerField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, max_length=500)),
            ],
            options={
                "db_table": "sandbox_sandboxdelivery",
                "ordering": ["pk"],
            },
        ),
        CreateModelUnlessPresent(
            name="SandboxKajabiOffer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=100, unique=True)),
                ("mode", models.CharField(choices=MODES, default="ok", max_length=20)),
            ],
            options={
                "db_table": "actions_sandboxkajabioffer",
            },
        ),
        CreateModelUnlessPresent(
            name="SandboxKajabiGrant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("external_user_id", models.CharField(max_length=200)),
                ("email", models.CharField(max_length=254)),
                ("name", models.CharField(max_length=200)),
                ("is_active", models.BooleanField(default=True)),
                ("grant_email_sent", models.BooleanField(default=False)),
                ("activations", models.PositiveIntegerField(default=0)),
                ("granted_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("offer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="grants", to="sandboxes.sandboxkajabioffer")),
            ],
            options={
                "db_table": "actions_sandboxkajabigrant",
                "constraints": [models.UniqueConstraint(fields=("offer", "external_user_id"), name="sandbox_unique_kajabi_grant")],
            },
        ),
        CreateModelUnlessPresent(
            name="SandboxWebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=100, unique=True)),
                ("secret", models.CharField(default="sandbox-webhook-secret", max_length=200)),
                ("mode", models.CharField(choices=MODES, default="ok", max_length=20)),
            ],
            options={
                "db_table": "actions_sandboxwebhookendpoint",
            },
        ),
        CreateModelUnlessPresent(
            name="SandboxWebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("delivery_id", models.CharField(max_length=100)),
                ("signature_valid", models.BooleanField()),
                ("is_duplicate", models.BooleanField(default=False)),
                ("body", models.JSONField(default=dict)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                ("endpoint", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="sandboxes.sandboxwebhookendpoint")),
            ],
            options={
                "db_table": "actions_sandboxwebhookdelivery",
            },
        ),
    ]
