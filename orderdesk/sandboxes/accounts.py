"""Provider accounts that point a checkout at the sandboxes (demo data and tests)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from orderdesk.organizations.models import Checkout
from orderdesk.payments.models import Provider, ProviderAccount
from orderdesk.sandboxes import epassi, paytrail, stripe


def install_sandbox_accounts(checkout: Checkout) -> list[ProviderAccount]:
    """Stripe, Paytrail and Epassi accounts for `checkout` with the sandboxes' test credentials.

    The Stripe webhook endpoint is registered at the sandbox for SITE_URL, so call this after
    SITE_URL is final (a test's live server).
    """
    stripe_key = f"sk_test_sandbox_{checkout.pk}"
    webhook_url = settings.SITE_URL.rstrip("/") + reverse(
        "payments:stripe-webhook", args=[checkout.pk]
    )
    merchant = "375917"
    rows = {
        Provider.STRIPE: {
            "account_id": "",
            "secret_key": stripe_key,
            "webhook_secret": stripe.register_webhook_endpoint(stripe_key, webhook_url),
            "methods": ["card", "apple_pay", "google_pay"],
        },
        Provider.PAYTRAIL: {
            "account_id": merchant,
            "secret_key": paytrail.MERCHANTS[merchant],
            "webhook_secret": "",
            "methods": [p[0] for p in paytrail.PROVIDERS],
        },
        Provider.EPASSI: {
            "account_id": epassi.SITE,
            "secret_key": epassi.KEY,
            "webhook_secret": "",
            "methods": ["epassi"],
        },
    }
    return [
        ProviderAccount.objects.update_or_create(
            checkout=checkout, provider=provider, defaults={**fields, "is_enabled": True}
        )[0]
        for provider, fields in rows.items()
    ]
