"""The demo checkout page's forms (issue 16): what a customer types, read by Django forms.

The forms check shapes (an email, a country from the list, lengths) so the customer sees a
message beside the field; the rules of the checkout stay in `orders.services` and
`payments.services`, which check again and whose refusals the page shows (`service_message`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from orderdesk.lib import formats
from orderdesk.lib.forms import TextField
from orderdesk.lib.money import country_name
from orderdesk.orders.models import Order
from orderdesk.orders.services import BILLING_FIELDS, COUNTRIES

# The providers the page offers. Stripe and Epassi with one method each (Stripe's card element,
# Epassi's benefit payment); Paytrail with a button per bank or wallet of the checkout's account,
# as Paytrail's embedded payment buttons are shown, so the attempt records the method the
# customer chose (Paytrail's hosted page lets them choose again, which the attempt would not
# record).
PROVIDER_METHODS = {"stripe": "card", "paytrail": "", "epassi": "epassi"}


def _limit(name: str) -> int:
    return int(getattr(Order._meta.get_field(name), "max_length", None) or 200)


class BillingForm(forms.Form):
    """The billing details and the analytics consent; `save_billing` takes `cleaned_data`."""

    email = forms.EmailField(label=_("Email"), max_length=_limit("customer_email"))
    first_name = TextField(label=_("First name"), required=True, max_length=_limit("first_name"))
    last_name = TextField(label=_("Last name"), required=True, max_length=_limit("last_name"))
    company = TextField(label=_("Company (optional)"), required=False, max_length=_limit("company"))
    address_line1 = TextField(
        label=_("Street address"), required=False, max_length=_limit("address_line1")
    )
    postal_code = TextField(
        label=_("Postal code"), required=False, max_length=_limit("postal_code")
    )
    city = TextField(label=_("City"), required=False, max_length=_limit("city"))
    country = forms.ChoiceField(label=_("Country"))
    analytics_consent = forms.BooleanField(
        label=_("I agree that this shop may use analytics cookies to improve its marketing."),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locale = formats.number_locale()
        # Countries by name in the customer's language; the service checks the code again.
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        names: list[tuple[str, str]] = [(code, country_name(code, locale)) for code in COUNTRIES]
        names.sort(key=lambda choice: choice[1])
        country.choices = names
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["company"].widget.attrs["autocomplete"] = "organization"
        self.fields["address_line1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["country"].widget.attrs["autocomplete"] = "country"

    @classmethod
    def for_order(cls, order: Order) -> BillingForm:
        """The form filled with what the order holds (FI for a new order: a Finnish shop)."""
        initial: dict[str, Any] = {
            "email": order.customer_email,
            "country": order.country or "FI",
            "analytics_consent": bool(order.analytics_consent),
        }
        initial.update({name: getattr(order, name) for name in BILLING_FIELDS})
        return cls(initial=initial)

    def billing(self) -> dict[str, Any]:
        """The keyword arguments of `orders.services.save_billing`."""
        data = self.cleaned_data
        fields = {name: data[name] for name in BILLING_FIELDS if name in data}
        return {
            "email": data["email"],
            "country": data["country"],
            "analytics_consent": data["analytics_consent"],
            **fields,
        }


class AddOnForm(forms.Form):
    """A ticked or cleared add-on checkbox."""

    add_on = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    chosen = forms.BooleanField(required=False)


class DiscountForm(forms.Form):
    code = TextField(label=_("Discount code"), max_length=50)
    remove = forms.BooleanField(required=False)


class PaymentForm(forms.Form):
    """The payment step: the provider and method (`stripe:card`) and the total the customer saw
    (a stale page whose total has changed since is refused by `start_payment`, never charged the
    old amount)."""

    provider = forms.ChoiceField(label=_("Payment method"), widget=forms.RadioSelect)
    total_minor = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**63 - 1)

    def __init__(self, *args: Any, providers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = providers
        if providers:
            field.initial = providers[0][0]

    def provider_and_method(self) -> tuple[str, str]:
        provider, _, method = self.cleaned_data["provider"].partition(":")
        return provider, method
