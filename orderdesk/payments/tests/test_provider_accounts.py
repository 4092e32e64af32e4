"""Provider accounts: secrets are write-only, admin-only, and may come from the environment."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from orderdesk.organizations.models import User
from orderdesk.payments.models import ProviderAccount
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.providers.registry import get_provider
from orderdesk.payments.providers.stripe import Stripe
from orderdesk.testing.factories import PASSWORD, World

SECRET = "sk_test_do_not_show_me_123"
WEBHOOK = "whsec_do_not_show_me_456"


@pytest.fixture
def account(world: World) -> ProviderAccount:
    return ProviderAccount.objects.create(
        checkout=world.checkout, provider="stripe", secret_key=SECRET, webhook_secret=WEBHOOK
    )


@pytest.fixture
def admin_client(db: None, client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root@example.com", PASSWORD))
    return client


def test_it_never_renders_secrets_in_the_admin(
    admin_client: Client, account: ProviderAccount
) -> None:
    pages = [
        reverse("admin:payments_provideraccount_changelist"),
        reverse("admin:payments_provideraccount_change", args=[account.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200
        assert SECRET.encode() not in response.content
        assert WEBHOOK.encode() not in response.content
    assert repr(account).count("sk_") == 0
    assert "sk_" not in str(account)


def test_it_keeps_a_secret_left_blank_and_replaces_a_new_one(
    admin_client: Client, account: ProviderAccount, world: World
) -> None:
    url = reverse("admin:payments_provideraccount_change", args=[account.pk])
    form = {
        "checkout": world.checkout.pk,
        "provider": "stripe",
        "is_enabled": "on",
        "account_id": "",
        "methods": '["card"]',
        "secret_key": "",
        "webhook_secret": "whsec_new",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.secret_key == SECRET
    assert account.webhook_secret == "whsec_new"


def test_it_hides_accounts_from_staff_who_are_not_superusers(
    client: Client, account: ProviderAccount, world: World
) -> None:
    world.alice.is_staff = True
    world.alice.save()
    client.force_login(world.alice)

    response = client.get(reverse("admin:payments_provideraccount_change", args=[account.pk]))

    assert response.status_code in (302, 403)
    assert SECRET.encode() not in response.content


def test_it_reads_a_secret_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_STRIPE_KEY", "sk_test_from_env")
    account = ProviderAccount.objects.create(
        checkout=world.checkout, provider="stripe", secret_key="env:ACME_STRIPE_KEY"
    )

    assert account.secret("secret_key") == "sk_test_from_env"
    assert isinstance(get_provider("stripe", world.checkout), Stripe)


def test_it_refuses_a_provider_the_checkout_has_not_set_up(world: World) -> None:
    with pytest.raises(ProviderError, match="not set up") as excinfo:
        get_provider("paytrail", world.checkout)
    assert excinfo.value.permanent
    with pytest.raises(ProviderError, match="Unknown payment provider"):
        get_provider("bitcoin", world.checkout)


def test_it_sets_a_paytrail_account_up_as_shop_in_shop_in_the_admin(
    admin_client: Client, world: World
) -> None:
    form = {
        "checkout": world.checkout.pk,
        "provider": "paytrail",
        "is_enabled": "on",
        "account_id": "695861",
        "methods": '["osuuspankki"]',
        "paytrail_shop_in_shop_merchant": "695874",
        "secret_key": "MONISAIPPUAKAUPPIAS",
    }

    response = admin_client.post(reverse("admin:payments_provideraccount_add"), form)

    assert response.status_code == 302
    account = ProviderAccount.objects.get(provider="paytrail")
    assert (account.paytrail_shop_in_shop_merchant, account.is_shop_in_shop) == ("695874", True)


@pytest.mark.parametrize(
    ("provider", "setting", "value"),
    [
        ("stripe", "paytrail_shop_in_shop_merchant", "695874"),
        ("paytrail", "paytrail_shop_in_shop_merchant", "69587x"),
        ("paytrail", "epassi_no_refund_interface", "on"),
    ],
)
def test_it_refuses_a_setting_of_another_provider(
    admin_client: Client, world: World, provider: str, setting: str, value: str
) -> None:
    form = {
        "checkout": world.checkout.pk,
        "provider": provider,
        "is_enabled": "on",
        "account_id": "1",
        "methods": "[]",
        setting: value,
    }

    response = admin_client.post(reverse("admin:payments_provideraccount_add"), form)

    assert response.status_code == 200
    assert setting in response.context["adminform"].form.errors
    assert not ProviderAccount.objects.exists()
