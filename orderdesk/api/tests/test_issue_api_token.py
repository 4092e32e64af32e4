"""`manage.py issue_api_token`: the printed token authenticates with the role asked for."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.testing import factories


def test_it_prints_a_token_that_the_staff_api_accepts(
    world: factories.World, client: Client
) -> None:
    out = io.StringIO()

    call_command(
        "issue_api_token",
        checkout=world.checkout.slug,
        name="CRM sync",
        role=CheckoutRole.CUSTOMER_SERVICE,
        created_by="alice@example.com",
        stdout=out,
        stderr=io.StringIO(),
    )

    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert raw.startswith("od_")
    assert (token.name, token.role, token.checkout, token.created_by) == (
        "CRM sync",
        CheckoutRole.CUSTOMER_SERVICE,
        world.checkout,
        world.alice,
    )
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_it_refuses_an_unknown_checkout(world: factories.World) -> None:
    with pytest.raises(CommandError, match="No checkout 'nope'"):
        call_command("issue_api_token", checkout="nope", name="x", stdout=io.StringIO())
    assert not ApiToken.objects.exists()
