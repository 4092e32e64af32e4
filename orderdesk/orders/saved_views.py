"""Saved views of the orders table (issue 15, point 3): a name for a set of filters and a tab.

A view belongs to one checkout and to whoever saved it: a member (the web) or an API token
(the staff API). It is personal (its owner's only) or shared with the checkout's team (every
member and token with a role on the checkout). Each member or token may choose one visible
view per checkout as their default, which the orders page opens when it is asked for with no
query at all.

Who may do what (`organizations.roles.can_share_views`): anyone with a role on the checkout,
viewers included, saves, changes and deletes their own personal views and picks a default;
sharing a view, and changing or deleting a shared one, needs customer service or up, since a
shared view changes what the whole team sees. A view nobody may see (another checkout's or
organization's, someone else's personal view) is `SavedView.DoesNotExist`: a 404, never a 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orderdesk.orders.forms import OrderFilterForm, OrderTab
from orderdesk.orders.models import DefaultView, SavedView
from orderdesk.organizations.models import ApiToken, Checkout, User
from orderdesk.organizations.roles import SHARE_VIEWS_MESSAGE, can_share_views

# The tabs row shows every view; past this many it stops being a row.
MAX_VIEWS = 30
MAX_NAME = 60
# Parameters of the table that are not filters: its pages, and the view itself.
NOT_FILTERS = frozenset({"after", "before", "view"})


class SavedViewForm(forms.Form):
    """The Save view and Edit view dialogs: a name, shared or not, the default or not, and
    the table's query string at the time (checked by `filter_query`)."""

    name = forms.CharField(
        max_length=MAX_NAME,
        error_messages={"required": _("Give the view a name.")},
    )
    shared = forms.BooleanField(required=False)
    default = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000)

    def messages(self) -> dict[str, str]:
        return {name: str(errors[0]) for name, errors in self.errors.items()}


@dataclass(frozen=True)
class ViewsScope:
    """Who works with views, on which checkout, with what role: a member or an API token."""

    checkout: Checkout
    role: str
    user: User | None = None
    token: ApiToken | None = None

    @classmethod
    def of_token(cls, token: ApiToken) -> ViewsScope:
        return cls(checkout=token.checkout, role=token.role, token=token)

    @property
    def can_share(self) -> bool:
        return can_share_views(self.role)

    def owns(self, view: SavedView) -> bool:
        if self.user is not None:
            return view.owner_id == self.user.pk
        return self.token is not None and view.owner_token_id == self.token.pk

    def can_change(self, view: SavedView) -> bool:
        """Own personal views, by anyone; shared views, by customer service and up."""
        return self.can_share if view.shared else self.owns(view)

    def _own(self) -> Q:
        if self.user is not None:
            return Q(owner=self.user)
        return Q(owner_token=self.token)

    def _default_of(self) -> Q:
        if self.user is not None:
            return Q(user=self.user)
        return Q(token=self.token)


def visible_views(scope: ViewsScope) -> QuerySet[SavedView]:
    """The checkout's shared views and the scope's own, by name, each with `is_default`:
    one query for the tabs row."""
    defaults = DefaultView.objects.filter(
        scope._default_of(), checkout=scope.checkout, view=OuterRef("pk")
    )
    return (
        SavedView.objects.filter(scope._own() | Q(shared=True), checkout=scope.checkout)
        .annotate(is_default=Exists(defaults))
        .order_by("name", "pk")
    )


def visible_view_list(scope: ViewsScope) -> list[SavedView]:
    """`visible_views(scope)` as a list, from one statement written out here: the orders page
    lists the views on every request, and compiling the ORM's `Exists` cost more than the
    query itself (about 0.6 of the page's 13 ms of CPU). `test_saved_views` holds the two to
    the same rows."""
    if scope.user is not None:
        owner_column, default_column, owner_id = "owner_id", "user_id", scope.user.pk
    else:
        assert scope.token is not None
        owner_column, default_column, owner_id = "owner_token_id", "token_id", scope.token.pk
    checkout_id = scope.checkout.pk
    views = list(
        SavedView.objects.raw(
            f"""
            SELECT v.*, EXISTS (
                SELECT 1 FROM {DefaultView._meta.db_table} d
                WHERE d.view_id = v.id AND d.checkout_id = %s AND d.{default_column} = %s
            ) AS is_default
            FROM {SavedView._meta.db_table} v
            WHERE v.checkout_id = %s AND (v.{owner_column} = %s OR v.shared)
            ORDER BY v.name, v.id
            """,  # noqa: S608 (table and column names from the code, values as parameters)
            [checkout_id, owner_id, checkout_id, owner_id],
        )
    )
    for view in views:
        view.is_default = bool(view.is_default)  # type: ignore[attr-defined]  # SQLite: 0 or 1
    return views


def get_view(scope: ViewsScope, view_id: int) -> SavedView:
    """A view the scope may see; `SavedView.DoesNotExist` for any other (a 404)."""
    return visible_views(scope).get(pk=view_id)


def default_view(views: list[SavedView]) -> SavedView | None:
    return next((view for view in views if getattr(view, "is_default", False)), None)


def filter_query(data: Mapping[str, Any], *, tz: dt.tzinfo) -> str:
    """The table's filters in `data` as a query string, in the form's order, without empty
    values, pages or the "All" tab; `ValidationError` naming the first bad parameter.

    `data` is a page's query string or the API's typed filters (a checkbox's True is 1).
    """
    pairs: list[tuple[str, str]] = []
    for name in OrderFilterForm.base_fields:
        value = data.get(name)
        if value is None or value is False or value == "" or name in NOT_FILTERS:
            continue
        text = "1" if value is True else str(value)
        if name == "tab" and text == OrderTab.ALL:
            continue
        pairs.append((name, text))
    form = OrderFilterForm(dict(pairs), tz=tz)
    if errors := form.messages():
        name, message = next(iter(errors.items()))
        raise ValidationError({name: message})
    return urlencode(pairs)


def query_filters(query: str) -> dict[str, str]:
    """A view's stored query string as its filters, name → value."""
    return dict(parse_qsl(query))


def _check_name(scope: ViewsScope, name: str, *, exclude: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": gettext("Give the view a name.")})
    if len(name) > MAX_NAME:
        raise ValidationError(
            {"name": gettext("A name has at most %(count)s characters.") % {"count": MAX_NAME}}
        )
    taken = visible_views(scope).filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError({"name": gettext("A view with this name exists already.")})
    return name


def create_view(
    scope: ViewsScope, *, name: str, query: str, shared: bool = False, default: bool = False
) -> SavedView:
    """Save `query` (from `filter_query`) under `name`; shared needs customer service or up."""
    if shared and not scope.can_share:
        raise PermissionDenied(SHARE_VIEWS_MESSAGE)
    name = _check_name(scope, name)
    if visible_views(scope).count() >= MAX_VIEWS:
        raise ValidationError(
            {
                "name": gettext("There are %(count)s views already; delete one first.")
                % {"count": MAX_VIEWS}
            }
        )
    with transaction.atomic():
        view = SavedView.objects.create(
            checkout=scope.checkout,
            name=name,
            query=query,
            shared=shared,
            owner=scope.user,
            owner_token=scope.token,
        )
        if default:
            set_default_view(scope, view)
    view.is_default = default  # type: ignore[attr-defined]
    return view


def update_view(
    scope: ViewsScope,
    view: SavedView,
    *,
    name: str | None = None,
    query: str | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Rename, refilter or (un)share a view the scope may change (`ViewsScope.can_change`)."""
    if not scope.can_change(view) or (shared and not scope.can_share):
        raise PermissionDenied(SHARE_VIEWS_MESSAGE)
    if shared is False and view.shared and not scope.owns(view):
        # Making a colleague's shared view personal would hand it to them alone, unasked.
        raise PermissionDenied(gettext("Only the member who shared this view can unshare it."))
    fields = ["updated_at"]
    if name is not None:
        view.name = _check_name(scope, name, exclude=view.pk)
        fields.append("name")
    if query is not None:
        view.query = query
        fields.append("query")
    if shared is not None:
        view.shared = shared
        fields.append("shared")
    view.save(update_fields=fields)
    return view


def delete_view(scope: ViewsScope, view: SavedView) -> None:
    if not scope.can_change(view):
        raise PermissionDenied(SHARE_VIEWS_MESSAGE)
    view.delete()


def set_default_view(scope: ViewsScope, view: SavedView | None) -> None:
    """The view the orders page opens with for this member or token (None: no default).
    Any visible view may be one's default, whatever the role."""
    owner = {"user": scope.user} if scope.user is not None else {"token": scope.token}
    with transaction.atomic():
        DefaultView.objects.filter(checkout=scope.checkout, **owner).delete()
        if view is not None:
            DefaultView.objects.create(checkout=scope.checkout, view=view, **owner)
