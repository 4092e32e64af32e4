"""Payment methods as people read them: the one list of labels every screen and file uses.

Providers report methods as codes (`google_pay`, `osuuspankki`); the orders table, the panel,
the CSV export and the Analytics tab all show these words, so a merchant sees "Google Pay" and
"OP" wherever the payment appears. Brand names stay as the brands write them in every language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext_lazy

METHOD_LABELS = {
    "card": pgettext_lazy("payment method", "Card"),
    "mobilepay": "MobilePay",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "epassi": "Epassi",
    "invoice": pgettext_lazy("payment method", "Invoice"),
    "bank_transfer": gettext_lazy("Bank transfer"),
    "osuuspankki": "OP",
    "nordea": "Nordea",
    "danske": "Danske Bank",
    "klarna": "Klarna",
}


def method_label(method: str) -> str:
    """The label of a method code in the active language; an unknown code made readable."""
    label = METHOD_LABELS.get(method)
    return str(label) if label is not None else method.replace("_", " ").capitalize()
