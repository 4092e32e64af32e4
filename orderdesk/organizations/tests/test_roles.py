"""Which checkouts a member has a role on, and which role (`organizations.roles`)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderdesk.organizations.models import CheckoutMembership, CheckoutRole, Membership, OrgRole
from orderdesk.organizations.roles import checkout_accesses, member_access
from orderdesk.testing import factories


def _roles(user: object) -> list[tuple[str, str, str]]:
    return [
        (a.organization.name, a.checkout.name, a.role)
        for a in checkout_accesses(user)  # type: ignore[arg-type]
    ]


def test_owners_and_admins_are_admin_on_every_checkout_members_have_their_own_role(
    world: factories.World,
) -> None:
    second, _key = factories.checkout(world.org, "A second shop")
    # Alice owns the organization: her viewer membership of a checkout does not lower her.
    CheckoutMembership.objects.create(checkout=second, user=world.alice, role=CheckoutRole.VIEWER)
    # Charlie, owner elsewhere, is also an org admin here; Bob a plain member of both.
    Membership.objects.create(organization=world.org, user=world.charlie, role=OrgRole.ADMIN)
    CheckoutMembership.objects.create(
        checkout=world.other_checkout, user=world.bob, role=CheckoutRole.MAINTAINER
    )

    assert _roles(world.alice) == [
        ("Acme Courses", "A second shop", "admin"),
        ("Acme Courses", "Main checkout", "admin"),
    ]
    assert _roles(world.sam) == [("Acme Courses", "Main checkout", "customer_service")]
    assert _roles(world.bob) == [
        ("Acme Courses", "Main checkout", "viewer"),
        ("Other Merchant", "Other checkout", "maintainer"),
    ]
    assert _roles(world.charlie) == [
        ("Acme Courses", "A second shop", "admin"),
        ("Acme Courses", "Main checkout", "admin"),
        ("Other Merchant", "Other checkout", "admin"),
    ]
    # An organization member with no checkout membership sees no checkout.
    assert _roles(factories.user("nobody@example.com")) == []


def test_one_statement_gives_checkouts_with_their_organization_as_the_orm_would(
    world: factories.World,
) -> None:
    world.org.require_two_factor = True
    world.org.save()
    with CaptureQueriesContext(connection) as queries:
        access = member_access(world.sam, current_checkout_id=None)
        assert access.current is not None
        organization = access.current.organization
        checkout = access.current.checkout
        assert access.second_factor_required is True
    assert len(queries) == 1
    # Values converted as the ORM converts them, SQLite included: a bool, aware times.
    assert organization.require_two_factor is True
    assert isinstance(organization.created_at, dt.datetime)
    assert organization.created_at.tzinfo is not None
    assert checkout.created_at.tzinfo is not None
    assert (checkout.pk, organization.pk) == (world.checkout.pk, world.org.pk)
    assert organization.time_zone == world.org.time_zone
