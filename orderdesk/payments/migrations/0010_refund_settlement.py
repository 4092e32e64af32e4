"""How a refund's money goes back is a field (`Refund.settlement`), not the wording of its
reason.

Until now a refund recorded because "Refund payments" was unchecked was told apart from one
the provider could not make by comparing `recorded_only_reason` with that sentence in every
language. The existing refunds are classified here, once, by the same comparison, against
the sentence as it was written in English, Finnish and Swedish (copied, so later edits of
the catalogues cannot change what this migration does) and as the demo generator wrote it:

- money through the provider (`via_provider`): provider;
- recorded with one of those sentences: unchecked;
- any other recorded refund (invoice, Epassi partial, a method without refunds): elsewhere.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import Q

UNCHECKED_REASONS = (
    "“Refund payments” was unchecked: recorded only, no money was returned.",
    "”Hyvitä maksut” ei ollut valittuna: vain kirjattu, rahaa ei palautettu.",
    "”Återbetala betalningar” var inte ikryssad: endast bokförd, inga pengar återbetalades.",
    # demo/generator/refunds.py before this field
    "Refund payments was not selected: recorded only, no money moved.",
)


def classify(apps: Any, schema_editor: Any) -> None:
    Refund = apps.get_model("payments", "Refund")
    recorded = Refund.objects.filter(via_provider=False)
    recorded.filter(recorded_only_reason__in=UNCHECKED_REASONS).update(settlement="unchecked")
    recorded.exclude(recorded_only_reason__in=UNCHECKED_REASONS).update(settlement="elsewhere")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_refundline_vat_minor"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="settlement",
            field=models.CharField(
                choices=[
                    ("provider", "Through the provider"),
                    ("unchecked", "Recorded only"),
                    ("elsewhere", "Returned outside Orderdesk"),
                ],
                default="provider",
                max_length=10,
            ),
        ),
        migrations.RunPython(classify, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.CheckConstraint(
                condition=Q(via_provider=True, settlement="provider")
                | Q(via_provider=False, settlement__in=["unchecked", "elsewhere"]),
                name="refund_settlement_matches_via_provider",
            ),
        ),
    ]
