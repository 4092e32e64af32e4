"""What staff send to the post-purchase actions' verbs, checked once for web and API."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ReceiptForm(forms.Form):
    """Sending the receipt of an order that has no receipt action: in which language (the
    checkout does not know the customer's), and the dialog's key, so a double click sends once."""

    language = forms.ChoiceField(choices=settings.LANGUAGES, label=_("Language"))
    key = forms.RegexField(
        regex=r"\A[A-Za-z0-9_-]{8,64}\Z",
        required=False,
        error_messages={"invalid": _("This form is out of date: open it again.")},
    )
