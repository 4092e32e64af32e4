"""The first quarter and half of each UTC hour (`SalesHourPart`), for reports in zones whose
midnight cuts an hour (Asia/Kolkata, Asia/Kathmandu).

The table is created empty and the state gets a nullable column: nothing is rewritten or
backfilled here. Until the worker's rollup job (or `manage.py roll_up_reports`) has built the
parts, such reports read the cut hours live, as before, with the same figures.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0006_drop_last_order_number'),
        ('reports', '0004_hourly_rollup'),
    ]

    operations = [
        migrations.AddField(
            model_name='rollupstate',
            name='parts_until',
            field=models.DateTimeField(null=True),
        ),
        migrations.CreateModel(
            name='SalesHourPart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('grain', models.CharField(choices=[('channel', 'Source, checkout link and offer'), ('place', 'Country and region'), ('visitor', 'Device and analytics consent'), ('line', 'Order lines by product, kind, add-on, offer and source'), ('method', 'Settled payments by provider and method'), ('refund', 'Counted refunds'), ('vat', 'Order lines by VAT rate'), ('refund_vat', 'Lines of counted refunds by VAT rate')], max_length=12)),
                ('currency', models.CharField(max_length=3)),
                ('source', models.CharField(blank=True, max_length=50)),
                ('link_id', models.BigIntegerField(null=True)),
                ('offer_id', models.BigIntegerField(null=True)),
                ('country', models.CharField(blank=True, max_length=2)),
                ('region', models.CharField(blank=True, max_length=100)),
                ('device_type', models.CharField(blank=True, max_length=10)),
                ('analytics_consent', models.BooleanField(null=True)),
                ('product_id', models.BigIntegerField(null=True)),
                ('kind', models.CharField(blank=True, max_length=12)),
                ('add_on_id', models.BigIntegerField(null=True)),
                ('provider', models.CharField(blank=True, max_length=10)),
                ('method', models.CharField(blank=True, max_length=30)),
                ('vat_rate', models.DecimalField(decimal_places=2, max_digits=5, null=True)),
                ('opened', models.PositiveIntegerField(default=0)),
                ('orders', models.PositiveIntegerField(default=0)),
                ('amount_minor', models.BigIntegerField(default=0)),
                ('vat_minor', models.BigIntegerField(default=0)),
                ('hour', models.DateTimeField()),
                ('minutes', models.PositiveSmallIntegerField()),
                ('checkout', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.checkout')),
            ],
            options={
                'indexes': [models.Index(fields=['checkout', 'grain', 'hour'], name='salespart_checkout_grain_hour')],
            },
        ),
    ]
