"""A copy of "has a confirmed authenticator" on the user row (organizations/second_factor.py
keeps it in step), filled in for the devices confirmed before it existed."""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def fill(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    User = apps.get_model("organizations", "User")
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    User.objects.filter(
        pk__in=TOTPDevice.objects.filter(confirmed=True).values("user_id")
    ).update(has_authenticator=True)


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0003_password_reset_requests"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="has_authenticator",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
