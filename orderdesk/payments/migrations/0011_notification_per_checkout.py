"""Provider notifications are deduplicated per receiving checkout (issue 18): Stripe sends an
account's events to every endpoint on it. Stored notifications learn their checkout from their
order; the few without one (unknown payments) keep none."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_checkout(apps, schema_editor):
    Notification = apps.get_model("payments", "ProviderNotification")
    Order = apps.get_model("orders", "Order")
    Notification.objects.filter(order__isnull=False).update(
        checkout_id=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("checkout_id"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_ordertag_folded_column"),
        ("organizations", "0005_user_language"),
        ("payments", "0010_refund_settlement"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="providernotification",
            name="unique_provider_event",
        ),
        migrations.AddField(
            model_name="providernotification",
            name="checkout",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="provider_notifications",
                to="organizations.checkout",
            ),
        ),
        migrations.RunPython(fill_checkout, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="providernotification",
            constraint=models.UniqueConstraint(
                fields=("checkout", "provider", "event_id"), name="unique_checkout_provider_event"
            ),
        ),
    ]
