"""The one module where roles are checked: which checkouts and orders a user may see or act on.

Org owners and admins are admin on every checkout of their organization; everybody else has
the role of their `CheckoutMembership`. The checkout a user is working in lives in the session
(the checkout switcher); an order outside the user's checkouts is a 404, never a 403.

API tokens (`ApiToken`) belong to one checkout and carry a checkout role like a user's: the
staff API sees only that checkout's orders and acts on them only with an acting role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from orderdesk.organizations.models import (
    ApiToken,
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Organization,
    OrgRole,
    User,
    hash_secret,
)

if TYPE_CHECKING:
    from orderdesk.orders.models import Order

SESSION_KEY = "current_checkout_id"
_CACHE_ATTR = "_orderdesk_member_access"
# `last_used_at` is a hint for people auditing tokens; writing it once a minute is enough.
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)

# Roles that may complete, refund and re-run; a viewer only reads.
ACTING_ROLES = frozenset(
    {CheckoutRole.ADMIN, CheckoutRole.MAINTAINER, CheckoutRole.CUSTOMER_SERVICE}
)


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
        return can_act_on_orders(self.role)

    @property
    def role_label(self) -> str:
        return CheckoutRole(self.role).label


@dataclass(frozen=True)
class MemberAccess:
    """Everything the UI needs to know about what the current user may see."""

    user: User
    checkouts: tuple[CheckoutAccess, ...]
    current: CheckoutAccess | None

    def role_on(self, checkout_id: int) -> str | None:
        for access in self.checkouts:
            if access.checkout.pk == checkout_id:
                return access.role
        return None

    @property
    def checkout_ids(self) -> list[int]:
        return [access.checkout.pk for access in self.checkouts]


def can_act_on_orders(role: str | None) -> bool:
    """Whether a checkout role may complete, refund and re-run (viewers may not)."""
    return role in ACTING_ROLES


def checkout_accesses(user: User) -> tuple[CheckoutAccess, ...]:
    """Every checkout the user has a role on, in a stable order (organization, name)."""
    roles: dict[int, CheckoutAccess] = {}
    org_admin_checkouts = Checkout.objects.filter(
        organization__memberships__user=user,
        organization__memberships__role__in=[OrgRole.OWNER, OrgRole.ADMIN],
    ).select_related("organization")
    for checkout in org_admin_checkouts:
        roles[checkout.pk] = CheckoutAccess(checkout=checkout, role=CheckoutRole.ADMIN)
    memberships = CheckoutMembership.objects.filter(user=user).select_related(
        "checkout__organization"
    )
    for membership in memberships:
        # An org owner's own checkout membership never lowers their role.
        roles.setdefault(
            membership.checkout_id,
            CheckoutAccess(checkout=membership.checkout, role=membership.role),
        )
    return tuple(
        sorted(
            roles.values(),
            key=lambda a: (a.organization.name, a.checkout.name, a.checkout.pk),
        )
    )


def member_access(request: HttpRequest) -> MemberAccess | None:
    """The signed-in user's checkouts and current checkout; computed once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cast(MemberAccess, cached)
    if not request.user.is_authenticated:
        return None
    user = request.user
    checkouts = checkout_accesses(user)
    current_id = request.session.get(SESSION_KEY)
    current = next((a for a in checkouts if a.checkout.pk == current_id), None)
    if current is None and checkouts:
        current = checkouts[0]
        request.session[SESSION_KEY] = current.checkout.pk
    access = MemberAccess(user=user, checkouts=checkouts, current=current)
    setattr(request, _CACHE_ATTR, access)
    return access


def require_member_access(request: HttpRequest) -> MemberAccess:
    access = member_access(request)
    if access is None:
        raise PermissionDenied("Sign in first.")
    return access


def switch_checkout(request: HttpRequest, checkout_id: int) -> CheckoutAccess:
    """Make `checkout_id` the current checkout; 404 if the user has no role on it."""
    access = require_member_access(request)
    chosen = next((a for a in access.checkouts if a.checkout.pk == checkout_id), None)
    if chosen is None:
        raise Http404("No such checkout.")
    request.session[SESSION_KEY] = chosen.checkout.pk
    setattr(request, _CACHE_ATTR, MemberAccess(access.user, access.checkouts, chosen))
    return chosen


def get_order_for_member(request: HttpRequest, number: int) -> Order:
    """The order with this number in the current organization, if the user can see it.

    Raises Http404 for a number that does not exist, belongs to another organization, or
    lives on a checkout the user has no role on. When the order is on another checkout the
    user can see, that checkout becomes the current one, so a colleague's deep link works.
    """
    from orderdesk.orders.models import Order

    access = require_member_access(request)
    if access.current is None:
        raise Http404("No such order.")
    visible = [
        a.checkout.pk
        for a in access.checkouts
        if a.organization.pk == access.current.organization.pk
    ]
    try:
        order = Order.objects.select_related(
            "checkout", "organization", "offer", "link", "discount_code"
        ).get(
            organization_id=access.current.organization.pk, number=number, checkout_id__in=visible
        )
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    if order.checkout_id != access.current.checkout.pk:
        switch_checkout(request, order.checkout_id)
    return order


def can_act_on_order(request: HttpRequest, order: Order) -> bool:
    access = member_access(request)
    return access is not None and can_act_on_orders(access.role_on(order.checkout_id))


def require_can_act(request: HttpRequest, order: Order) -> None:
    """Raise PermissionDenied (403) unless the user may act on this order's checkout."""
    if not can_act_on_order(request, order):
        raise PermissionDenied("Your role on this checkout can only view orders.")


def acting_member_required[**P](
    view: Callable[P, HttpResponse],
) -> Callable[P, HttpResponse]:
    """For POST views on the current checkout: 403 for a viewer (or anyone who cannot act).

    Views that act on one order should also call `get_order_for_member` then `require_can_act`,
    because the order's checkout decides the role.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        request = cast(HttpRequest, args[0])
        access = require_member_access(request)
        if access.current is None or not access.current.can_act:
            raise PermissionDenied("Your role on this checkout can only view orders.")
        return view(*args, **kwargs)

    return wrapper


def api_token_for(raw: str) -> ApiToken | None:
    """The live token with this raw value (`od_...`), or None if unknown or revoked.

    Marks the token used, at most once per TOKEN_USE_RESOLUTION, with one conditional UPDATE
    so a busy client does not write the row on every call.
    """
    if not raw.startswith("od_"):
        return None
    token = (
        ApiToken.objects.select_related("checkout__organization")
        .filter(token_hash=hash_secret(raw), revoked_at=None)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at=None) | Q(last_used_at__lt=now - TOKEN_USE_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


def orders_for_token(token: ApiToken) -> QuerySet[Order]:
    """The orders an API token may see: its checkout's (the organization uses its indexes)."""
    from orderdesk.orders.models import Order

    return Order.objects.filter(
        organization_id=token.checkout.organization_id, checkout_id=token.checkout_id
    )


def get_order_for_token(token: ApiToken, number: int) -> Order:
    """The order with this number on the token's checkout; Http404 for any other order."""
    order = (
        orders_for_token(token)
        .select_related("checkout", "organization", "offer", "link", "discount_code")
        .filter(number=number)
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def require_token_can_act(token: ApiToken) -> None:
    """Raise PermissionDenied (403) unless the token's role may complete, refund and re-run."""
    if not can_act_on_orders(token.role):
        raise PermissionDenied("This API token's role can only read orders.")


def user_time_zone(user: User | Any, organization: Organization | None) -> str:
    """The user's own time zone, else the organization's, else UTC."""
    own = getattr(user, "time_zone", "")
    if own:
        return str(own)
    return organization.time_zone if organization is not None else "UTC"
