"""The staff API's saved views (issue 15, point 7): each operation, its roles and its errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from orderdesk.api.tests.test_staff_api import BASE, Staff, staff_for
from orderdesk.orders.models import DefaultView, SavedView
from orderdesk.organizations.models import CheckoutRole
from orderdesk.testing import factories


def call(staff: Staff, method: str, path: str, body: Any = None) -> Any:
    response = getattr(staff.client, method)(
        BASE + path,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers={"Authorization": f"Bearer {staff.raw}"},
    )
    response.data = response.json() if response.content else None
    return response


@pytest.fixture
def support(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout, CheckoutRole.CUSTOMER_SERVICE)


@pytest.fixture
def viewer(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout, CheckoutRole.VIEWER)


def test_it_creates_lists_reads_changes_and_deletes_a_view(support: Staff) -> None:
    created = call(
        support,
        "post",
        "/saved-views",
        {"name": "Failed Kajabi", "filters": {"tab": "attention", "reason": "actions", "q": ""}},
    )
    assert created.status_code == 201, created.data
    view = created.data
    assert view["name"] == "Failed Kajabi"
    assert view["filters"] == {"tab": "attention", "reason": "actions"}
    assert view["query"] == "tab=attention&reason=actions"
    assert (view["shared"], view["mine"], view["is_default"]) == (False, True, False)

    listed = call(support, "get", "/saved-views")
    assert [v["id"] for v in listed.data] == [view["id"]]
    assert call(support, "get", f"/saved-views/{view['id']}").data["name"] == "Failed Kajabi"

    changed = call(
        support,
        "patch",
        f"/saved-views/{view['id']}",
        {"name": "Paid", "shared": True, "filters": {"status": "paid"}},
    )
    assert changed.status_code == 200, changed.data
    assert (changed.data["name"], changed.data["shared"], changed.data["query"]) == (
        "Paid",
        True,
        "status=paid",
    )

    deleted = call(support, "delete", f"/saved-views/{view['id']}")
    assert deleted.status_code == 204
    assert not SavedView.objects.exists()
    assert call(support, "get", f"/saved-views/{view['id']}").status_code == 404


def test_it_sets_and_clears_the_default(support: Staff) -> None:
    first = call(support, "post", "/saved-views", {"name": "A", "default": True}).data
    second = call(support, "post", "/saved-views", {"name": "B"}).data
    assert first["is_default"] is True
    made = call(support, "post", f"/saved-views/{second['id']}/default")
    assert made.status_code == 200
    assert made.data["is_default"] is True
    flags = {v["name"]: v["is_default"] for v in call(support, "get", "/saved-views").data}
    assert flags == {"A": False, "B": True}
    assert call(support, "delete", "/saved-views/default").status_code == 204
    assert not DefaultView.objects.exists()


def test_a_viewer_keeps_personal_views_but_may_not_share(viewer: Staff, support: Staff) -> None:
    own = call(viewer, "post", "/saved-views", {"name": "Mine", "filters": {"status": "paid"}})
    assert own.status_code == 201
    refused = call(viewer, "post", "/saved-views", {"name": "Team", "shared": True})
    assert refused.status_code == 403
    assert refused.data["code"] == "forbidden"
    assert (
        call(viewer, "patch", f"/saved-views/{own.data['id']}", {"shared": True}).status_code == 403
    )
    assert SavedView.objects.filter(shared=True).count() == 0

    # A team view: the viewer uses it and may make it their default, not change or delete it.
    team = call(support, "post", "/saved-views", {"name": "Team", "shared": True}).data
    names = [v["name"] for v in call(viewer, "get", "/saved-views").data]
    assert names == ["Mine", "Team"]
    assert call(viewer, "patch", f"/saved-views/{team['id']}", {"name": "X"}).status_code == 403
    assert call(viewer, "delete", f"/saved-views/{team['id']}").status_code == 403
    assert call(viewer, "post", f"/saved-views/{team['id']}/default").status_code == 200
    assert SavedView.objects.get(pk=team["id"]).name == "Team"
    # Personal views stay personal: the support token does not see the viewer's.
    assert [v["name"] for v in call(support, "get", "/saved-views").data] == ["Team"]
    assert call(support, "get", f"/saved-views/{own.data['id']}").status_code == 404
    assert call(support, "delete", f"/saved-views/{own.data['id']}").status_code == 404


def test_another_organizations_or_checkouts_view_is_a_404(
    world: factories.World, client: Client, support: Staff
) -> None:
    theirs = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)
    view = call(theirs, "post", "/saved-views", {"name": "Theirs", "shared": True}).data
    assert call(support, "get", "/saved-views").data == []
    for method, path, body in (
        ("get", f"/saved-views/{view['id']}", None),
        ("patch", f"/saved-views/{view['id']}", {"name": "Mine now"}),
        ("delete", f"/saved-views/{view['id']}", None),
        ("post", f"/saved-views/{view['id']}/default", None),
    ):
        response = call(support, method, path, body)
        assert response.status_code == 404, (method, path)
        assert response.data["code"] == "not_found"
    assert SavedView.objects.get(pk=view["id"]).name == "Theirs"
    assert not DefaultView.objects.exists()


def test_bad_input_is_refused_and_changes_nothing(support: Staff) -> None:
    call(support, "post", "/saved-views", {"name": "Paid", "filters": {"status": "paid"}})
    cases = [
        ({"name": "paid"}, 400, "name: A view with this name exists already."),
        (
            {"name": "Dates", "filters": {"date_from": "2026-02-01", "date_to": "2026-01-01"}},
            400,
            "date_to: The end date is before the start date.",
        ),
        ({"name": "Short", "filters": {"q": "ab"}}, 400, "q: Type at least 3 characters"),
        ({"name": ""}, 422, None),
        ({"name": "nul\u0000"}, 422, "name: Value error, must not contain the NUL"),
        ({"name": "Nul", "filters": {"q": "a\u0000bc"}}, 400, "q: "),
        ({"name": "Lost", "filters": {"status": "lost"}}, 422, None),
        ({"name": "x" * 61}, 422, None),
    ]
    for body, status, detail in cases:
        response = call(support, "post", "/saved-views", body)
        assert response.status_code == status, (body, response.data)
        if detail:
            assert response.data["detail"].startswith(detail)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Paid"]
    assert call(support, "get", "/saved-views/0").status_code == 422
    assert call(support, "get", "/saved-views/99999").status_code == 404


def test_the_openapi_document_describes_the_operations(client: Client) -> None:
    paths = client.get(f"{BASE}/openapi.json").json()["paths"]
    assert set(paths[f"{BASE}/saved-views"]) == {"get", "post"}
    assert set(paths[f"{BASE}/saved-views/{{view_id}}"]) == {"get", "patch", "delete"}
    assert set(paths[f"{BASE}/saved-views/{{view_id}}/default"]) == {"post"}
    assert set(paths[f"{BASE}/saved-views/default"]) == {"delete"}
