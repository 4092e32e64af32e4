"""Which saved views a member or a token sees: the list the orders page and the API show, from
its own statement, against the queryset the services filter and count."""

from __future__ import annotations

from orderdesk.orders.models import DefaultView, SavedView
from orderdesk.orders.saved_views import ViewsScope, visible_view_list, visible_views
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.testing import factories


def _view(world: factories.World, name: str, **fields: object) -> SavedView:
    fields.setdefault("checkout", world.checkout)
    return SavedView.objects.create(name=name, query="status=paid", **fields)


def _seen(views: list[SavedView]) -> list[tuple[str, bool]]:
    return [(view.name, view.is_default) for view in views]  # type: ignore[attr-defined]


def test_the_list_is_the_visible_views_with_each_ones_default(world: factories.World) -> None:
    token, _raw = ApiToken.issue(
        checkout=world.checkout, name="script", role=CheckoutRole.CUSTOMER_SERVICE
    )
    other_token, _raw = ApiToken.issue(
        checkout=world.checkout, name="other", role=CheckoutRole.CUSTOMER_SERVICE
    )
    sams = _view(world, "b Sam's own", owner=world.sam)
    shared = _view(world, "a Shared", owner=world.alice, shared=True)
    _view(world, "c Alice's own", owner=world.alice)
    tokens = _view(world, "d The token's own", owner_token=token)
    _view(world, "e Another token's", owner_token=other_token)
    _view(world, "f Elsewhere, shared", owner=world.charlie, checkout=world.other_checkout)
    DefaultView.objects.create(checkout=world.checkout, view=sams, user=world.sam)
    DefaultView.objects.create(checkout=world.checkout, view=shared, user=world.alice)
    DefaultView.objects.create(checkout=world.checkout, view=tokens, token=token)
    DefaultView.objects.create(checkout=world.checkout, view=shared, token=other_token)

    scopes = {
        "sam": ViewsScope(
            checkout=world.checkout, role=CheckoutRole.CUSTOMER_SERVICE, user=world.sam
        ),
        "alice": ViewsScope(checkout=world.checkout, role=CheckoutRole.ADMIN, user=world.alice),
        "token": ViewsScope.of_token(token),
        "bob elsewhere": ViewsScope(
            checkout=world.other_checkout, role=CheckoutRole.VIEWER, user=world.bob
        ),
    }
    expected = {
        "sam": [("a Shared", False), ("b Sam's own", True)],
        "alice": [("a Shared", True), ("c Alice's own", False)],
        "token": [("a Shared", False), ("d The token's own", True)],
        "bob elsewhere": [],
    }
    for who, scope in scopes.items():
        listed = visible_view_list(scope)
        assert _seen(listed) == expected[who], who
        queried = list(visible_views(scope))
        assert _seen(queried) == expected[who], who
