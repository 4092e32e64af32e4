"""Which adapter serves which provider, and the account it runs with."""

from __future__ import annotations

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import Provider, ProviderAccount
from orderdesk.payments.providers.base import PaymentProvider, ProviderError

PROVIDERS: dict[str, str] = {
    Provider.STRIPE: "orderdesk.payments.providers.stripe.Stripe",
    Provider.PAYTRAIL: "orderdesk.payments.providers.paytrail.Paytrail",
    Provider.EPASSI: "orderdesk.payments.providers.epassi.Epassi",
    Provider.MANUAL: "orderdesk.payments.providers.manual.Manual",
}
# Providers that work without credentials.
NO_ACCOUNT = frozenset({Provider.MANUAL})


def get_provider(name: str, checkout: Checkout) -> PaymentProvider:
    """The adapter for `name` with the checkout's account; ProviderError if not configured."""
    try:
        cls: type[PaymentProvider] = import_string(PROVIDERS[name])
    except KeyError:
        raise ProviderError(f"Unknown payment provider {name!r}", permanent=True) from None
    if name in NO_ACCOUNT:
        return cls(checkout, None)
    account = ProviderAccount.objects.filter(
        checkout=checkout, provider=name, is_enabled=True
    ).first()
    if account is None:
        raise ProviderError(
            _("%(provider)s is not set up for checkout %(checkout)s")
            % {"provider": cls.__name__, "checkout": checkout.name},
            permanent=True,
        )
    return cls(checkout, account)
