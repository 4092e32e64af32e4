"""The staff API's saved views of the orders table (issue 15, point 7): list, create, change,
delete, and the default.

An API token works with views as a member does (`orders.saved_views`): it sees its
checkout's shared views and its own personal ones; any token saves personal views and picks
its default; sharing, and changing or deleting a shared view, needs a `customer_service`,
`maintainer` or `admin` token (403 otherwise). Any other view is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Field, Router, Schema, Status
from ninja.params.functions import Path

from orderdesk.api.auth import StaffRequest, StaffToken
from orderdesk.api.errors import InvalidParameters
from orderdesk.api.schemas import Error, In
from orderdesk.api.staff_schemas import OrderQuery
from orderdesk.orders.models import SavedView
from orderdesk.orders.saved_views import (
    MAX_NAME,
    ViewsScope,
    create_view,
    delete_view,
    filter_query,
    get_view,
    query_filters,
    set_default_view,
    update_view,
    visible_view_list,
)

router = Router(auth=StaffToken(), tags=["saved views"])

READ_ERRORS = {401: Error, 404: Error, 422: Error}
WRITE_ERRORS = {**READ_ERRORS, 400: Error, 403: Error}
ViewId = Annotated[int, Path(ge=1, le=2**63 - 1, description="`id` of a saved view.")]


class ViewFilters(OrderQuery):
    """The filters a view keeps: the parameters of `GET /orders`, without `tz` (a view's
    dates are days; the orders list reads them in the time zone it is given)."""


class SavedViewOut(Schema):
    id: int
    name: str
    shared: bool = Field(description="Shared with the checkout's team; else personal.")
    mine: bool = Field(description="Saved by this token.")
    is_default: bool = Field(description="This token's default view.")
    filters: dict[str, str] = Field(description="The view's filters, as `GET /orders` takes them.")
    query: str = Field(description="The same filters as a query string for `GET /orders`.")
    created_at: dt.datetime
    updated_at: dt.datetime


class SavedViewIn(In):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    shared: bool = Field(
        default=False, description="Share with the checkout's team (customer service and up)."
    )
    default: bool = Field(default=False, description="Make it this token's default view.")
    filters: ViewFilters = Field(default_factory=ViewFilters)


class SavedViewPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    shared: bool | None = None
    filters: ViewFilters | None = None


def _scope(request: StaffRequest) -> ViewsScope:
    return ViewsScope.of_token(request.auth)


def _view(scope: ViewsScope, view_id: int) -> SavedView:
    try:
        return get_view(scope, view_id)
    except SavedView.DoesNotExist:
        raise Http404 from None


def _query(scope: ViewsScope, filters: ViewFilters) -> str:
    tz = ZoneInfo(scope.checkout.organization.time_zone)
    data = filters.model_dump(mode="json", exclude={"tz"}, exclude_none=True)
    try:
        return filter_query(data, tz=tz)
    except ValidationError as error:
        raise InvalidParameters(_messages(error)) from None


def _messages(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "error_dict"):
        return {name: messages[0] for name, messages in error.message_dict.items()}
    return {"detail": error.messages[0]}


def _out(scope: ViewsScope, view: SavedView) -> SavedViewOut:
    return SavedViewOut(
        id=view.pk,
        name=view.name,
        shared=view.shared,
        mine=scope.owns(view),
        is_default=bool(getattr(view, "is_default", False)),
        filters=query_filters(view.query),
        query=view.query,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


@router.get("/saved-views", response={200: list[SavedViewOut], **READ_ERRORS})
def list_views(request: StaffRequest) -> list[SavedViewOut]:
    """The checkout's shared views and this token's own, by name."""
    scope = _scope(request)
    return [_out(scope, view) for view in visible_view_list(scope)]


@router.post("/saved-views", response={201: SavedViewOut, **WRITE_ERRORS})
def create(request: StaffRequest, body: SavedViewIn) -> Status[SavedViewOut]:
    """Save filters under a name, personal or shared; optionally this token's default."""
    scope = _scope(request)
    query = _query(scope, body.filters)
    try:
        view = create_view(
            scope, name=body.name, query=query, shared=body.shared, default=body.default
        )
    except ValidationError as error:
        raise InvalidParameters(_messages(error)) from None
    return Status(201, _out(scope, _view(scope, view.pk)))


# Before the `{view_id}` paths, which would take `default` for an id (a 422).
@router.delete("/saved-views/default", response={204: None, 401: Error})
def clear_default(request: StaffRequest) -> Status[None]:
    """This token has no default view any more."""
    set_default_view(_scope(request), None)
    return Status(204, None)


@router.get("/saved-views/{view_id}", response={200: SavedViewOut, **READ_ERRORS})
def read(request: StaffRequest, view_id: ViewId) -> SavedViewOut:
    scope = _scope(request)
    return _out(scope, _view(scope, view_id))


@router.patch("/saved-views/{view_id}", response={200: SavedViewOut, **WRITE_ERRORS})
def change(request: StaffRequest, view_id: ViewId, body: SavedViewPatch) -> SavedViewOut:
    """Rename, refilter, share or unshare a view: the token's own personal views, or (for
    customer service and up) a shared view; only the one who shared a view unshares it."""
    scope = _scope(request)
    view = _view(scope, view_id)
    query = _query(scope, body.filters) if body.filters is not None else None
    try:
        update_view(scope, view, name=body.name, query=query, shared=body.shared)
    except ValidationError as error:
        raise InvalidParameters(_messages(error)) from None
    return _out(scope, _view(scope, view_id))


@router.delete("/saved-views/{view_id}", response={204: None, **WRITE_ERRORS})
def delete(request: StaffRequest, view_id: ViewId) -> Status[None]:
    scope = _scope(request)
    delete_view(scope, _view(scope, view_id))
    return Status(204, None)


@router.post("/saved-views/{view_id}/default", response={200: SavedViewOut, **READ_ERRORS})
def make_default(request: StaffRequest, view_id: ViewId) -> SavedViewOut:
    """Make a visible view this token's default (any role)."""
    scope = _scope(request)
    set_default_view(scope, _view(scope, view_id))
    return _out(scope, _view(scope, view_id))
