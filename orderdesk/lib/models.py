"""What Orderdesk's models share."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.encoding import force_str


class LabelledChoices(models.Model):
    """`get_FOO_display()` from a table of the field's labels built once per field.

    Django's own builds `dict(make_hashable(field.flatchoices))` on every call, and hashing
    each lazily translated label translates it: a status of eight choices costs eight
    `gettext` calls to show one. The panel shows some twenty such labels (statuses, kinds,
    providers, who did what), ~280 function calls each; from the table, one label is cast.
    """

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field: models.Field[Any, Any]) -> Any:
        value = getattr(self, field.attname)
        try:
            labels = field.__dict__.get("_labels_by_value")
            if labels is None:
                # The labels stay lazy, cast below in the active language.
                labels = field.__dict__["_labels_by_value"] = dict(field.flatchoices)
            label = labels.get(value, value)
        except TypeError:  # an unhashable value or choice (a list): Django's way handles it
            return super()._get_FIELD_display(field)  # type: ignore[misc]
        return force_str(label, strings_only=True)
