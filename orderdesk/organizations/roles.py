"""The one module where roles are checked: which checkouts a member or API token may see and
act on.

Org owners and admins are admin on every checkout of their organization; everybody else has
the role of their `CheckoutMembership`. API tokens (`ApiToken`) belong to one checkout and
carry a checkout role like a user's. An order outside what one may see is a 404, never a 403
(`workflows.lookup`); a viewer who tries to act gets a 403 from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from orderdesk.lib.rows import read_instances, select_list
from orderdesk.organizations.models import (
    ApiToken,
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Membership,
    Organization,
    OrgRole,
    User,
)

# Roles that may complete, refund and re-run; a viewer only reads.
ACTING_ROLES = frozenset(
    {CheckoutRole.ADMIN, CheckoutRole.MAINTAINER, CheckoutRole.CUSTOMER_SERVICE}
)
VIEW_ONLY_MESSAGE = "Your role on this checkout can only view orders."
TOKEN_VIEW_ONLY_MESSAGE = "This API token's role can only read orders."


def can_act(role: str | None) -> bool:
    """Whether a checkout role may complete, refund and re-run (viewers may not)."""
    return role in ACTING_ROLES


SHARE_VIEWS_MESSAGE = "Your role on this checkout can only save personal views."


def can_share_views(role: str | None) -> bool:
    """Whether a checkout role may share saved views of the orders table with the team, and
    change or delete shared ones: what the whole team sees is for those who work the orders
    (customer service and up); every role, viewers too, keeps personal views."""
    return can_act(role)


@dataclass(frozen=True)
class CheckoutAccess:
    """A checkout the user can see, with the role they have on it."""

    checkout: Checkout
    role: str

    @property
    def organization(self) -> Organization:
        return self.checkout.organization

    @property
    def can_act(self) -> bool:
        return can_act(self.role)

    @property
    def role_label(self) -> str:
        return str(CheckoutRole(self.role).label)


@dataclass(frozen=True)
class MemberAccess:
    """What a signed-in member may see: their checkouts and the one they are working in."""

    user: User
    checkouts: tuple[CheckoutAccess, ...]
    current: CheckoutAccess | None

    def role_on(self, checkout_id: int) -> str | None:
        for access in self.checkouts:
            if access.checkout.pk == checkout_id:
                return access.role
        return None

    def can_act_on(self, checkout_id: int) -> bool:
        return can_act(self.role_on(checkout_id))

    def require_can_act_on(self, checkout_id: int) -> None:
        """Raise PermissionDenied (403) unless the member may act on this checkout's orders."""
        if not self.can_act_on(checkout_id):
            raise PermissionDenied(VIEW_ONLY_MESSAGE)

    def find(self, checkout_id: int) -> CheckoutAccess | None:
        return next((a for a in self.checkouts if a.checkout.pk == checkout_id), None)

    def switched_to(self, checkout_id: int) -> MemberAccess | None:
        """The same access working in another of the member's checkouts; None if not theirs."""
        chosen = self.find(checkout_id)
        if chosen is None:
            return None
        return MemberAccess(user=self.user, checkouts=self.checkouts, current=chosen)

    @property
    def checkout_ids(self) -> list[int]:
        return [access.checkout.pk for access in self.checkouts]

    @property
    def visible_checkout_ids(self) -> list[int]:
        """The member's checkouts in the organization they are working in."""
        if self.current is None:
            return []
        organization_id = self.current.organization.pk
        return [a.checkout.pk for a in self.checkouts if a.organization.pk == organization_id]

    @property
    def second_factor_required(self) -> bool:
        """Whether the member must sign in with a second factor: an organization requires one
        of everyone who may act on its checkouts, and they may act on one of them."""
        return any(a.can_act and a.organization.require_two_factor for a in self.checkouts)

    @property
    def time_zone(self) -> str:
        """The member's own time zone, else their current organization's, else UTC."""
        if self.user.time_zone:
            return self.user.time_zone
        return self.current.organization.time_zone if self.current is not None else "UTC"


def checkout_accesses(user: User) -> tuple[CheckoutAccess, ...]:
    """Every checkout the user has a role on, in a stable order (organization, name).

    One statement for both ways to a role, the organization's owners and admins and the
    checkout's members: the middleware asks on every request, and the two ORM queries with
    `select_related` it replaced cost about 1 ms of CPU to build and compile, most of a live
    poll's."""
    memberships = Membership._meta.db_table
    sql = f"""
        SELECT {select_list(Checkout, "c")}, {select_list(Organization, "o")},
               EXISTS (
                   SELECT 1 FROM {memberships} om
                   WHERE om.organization_id = c.organization_id AND om.user_id = %s
                     AND om.role IN (%s, %s)
               ),
               cm.role
        FROM {Checkout._meta.db_table} c
        JOIN {Organization._meta.db_table} o ON o.id = c.organization_id
        LEFT JOIN {CheckoutMembership._meta.db_table} cm
            ON cm.checkout_id = c.id AND cm.user_id = %s
        WHERE cm.id IS NOT NULL OR c.organization_id IN (
            SELECT om.organization_id FROM {memberships} om
            WHERE om.user_id = %s AND om.role IN (%s, %s)
        )
    """  # noqa: S608 (table and column names from the models, values as parameters)
    admin_roles = [OrgRole.OWNER.value, OrgRole.ADMIN.value]
    accesses = []
    for checkout, organization, org_admin, checkout_role in read_instances(
        sql, [user.pk, *admin_roles, user.pk, user.pk, *admin_roles], [Checkout, Organization]
    ):
        # As select_related would: the organization cached on its checkout.
        checkout.organization = organization
        # An org owner's own checkout membership never lowers their role.
        role = CheckoutRole.ADMIN if org_admin else checkout_role
        accesses.append(CheckoutAccess(checkout=checkout, role=role))
    return tuple(
        sorted(accesses, key=lambda a: (a.organization.name, a.checkout.name, a.checkout.pk))
    )


def member_access(user: User, *, current_checkout_id: int | None) -> MemberAccess:
    """The user's checkouts, working in `current_checkout_id` when it is one of them, else in
    their first checkout (None when they have none)."""
    checkouts = checkout_accesses(user)
    current = next((a for a in checkouts if a.checkout.pk == current_checkout_id), None)
    if current is None and checkouts:
        current = checkouts[0]
    return MemberAccess(user=user, checkouts=checkouts, current=current)


def require_token_can_act(token: ApiToken) -> None:
    """Raise PermissionDenied (403) unless the token's role may complete, refund and re-run."""
    if not can_act(token.role):
        raise PermissionDenied(TOKEN_VIEW_ONLY_MESSAGE)
