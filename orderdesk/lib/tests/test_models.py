"""`LabelledChoices.get_FOO_display()` says what Django's own says, for every choice field of
every model that uses it, in every language."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import translation

from orderdesk.lib.models import LabelledChoices

LABELLED = [
    model
    for model in apps.get_models()
    if issubclass(model, LabelledChoices) and model.__module__.startswith("orderdesk.")
]


def test_the_models_that_show_labels_use_it() -> None:
    names = {model.__name__ for model in LABELLED}
    assert {"Order", "OrderEvent", "PaymentAttempt", "Refund", "ActionSnapshot"} <= names


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_every_label_is_djangos(language: str) -> None:
    compared = 0
    with translation.override(language):
        for model in LABELLED:
            for field in model._meta.concrete_fields:
                if not field.choices:
                    continue
                for value in [*(v for v, _label in field.flatchoices), "no-such-value"]:
                    instance = model(**{field.attname: value})
                    ours = getattr(instance, f"get_{field.name}_display")()
                    djangos = models.Model._get_FIELD_display(instance, field)  # type: ignore[attr-defined]
                    assert ours == djangos, (model.__name__, field.name, value)
                    assert type(ours) is str
                    compared += 1
    assert compared > 50


def test_the_label_follows_the_active_language() -> None:
    order_model = apps.get_model("orders", "Order")
    order = order_model(status="paid")
    assert order.get_status_display() == "Paid"
    with translation.override("fi"):
        assert order.get_status_display() == "Maksettu"
    with translation.override("sv"):
        assert order.get_status_display() == "Betald"
    assert order.get_status_display() == "Paid"
