"""The customer service desk in the staff API (issue 14): internal notes, with the roles and
errors of every verb: another organization's order is a 404, a viewer token a 403."""

from __future__ import annotations

import pytest
from django.test import Client

from orderdesk.actions.models import ActionRun
from orderdesk.actions.tests.test_resend_email import email_action
from orderdesk.api.tests.test_staff_api import BASE, Staff, staff_for
from orderdesk.orders.events import EventType
from orderdesk.orders.models import OrderEvent, OrderStatus
from orderdesk.organizations.models import CheckoutRole
from orderdesk.testing import factories


@pytest.fixture
def staff(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout)


@pytest.fixture
def viewer(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout, CheckoutRole.VIEWER)


def test_a_note_is_added_to_the_timeline_as_the_token(world: factories.World, staff: Staff) -> None:
    order = factories.order(world)

    response = staff.post(f"/orders/{order.number}/notes", {"text": "  Called her, resent.  "})
    detail = staff.get(f"/orders/{order.number}")

    assert response.status_code == 201
    assert response.data["type"] == "internal_note"
    assert response.data["message"] == "Called her, resent."
    assert response.data["actor_type"] == "api_token"
    notes = [e for e in detail.data["timeline"] if e["type"] == "internal_note"]
    assert [n["message"] for n in notes] == ["Called her, resent."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Write the note first."),
        ("x" * 501, "Keep the note to 500 characters."),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
def test_a_bad_note_is_a_400_and_adds_nothing(
    world: factories.World, staff: Staff, text: str, message: str
) -> None:
    order = factories.order(world)

    response = staff.post(f"/orders/{order.number}/notes", {"text": text})

    assert (response.status_code, response.data["code"]) == (400, "invalid_parameters")
    assert response.data["detail"] == f"text: {message}"
    assert not OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).exists()


def test_a_note_without_text_is_a_422(world: factories.World, staff: Staff) -> None:
    order = factories.order(world)

    response = staff.post(f"/orders/{order.number}/notes", {})

    assert response.status_code == 422


def test_a_viewer_token_reads_notes_but_cannot_write_one(
    world: factories.World, staff: Staff, viewer: Staff
) -> None:
    order = factories.order(world)
    staff.post(f"/orders/{order.number}/notes", {"text": "VIP customer"})

    read = viewer.get(f"/orders/{order.number}")
    written = viewer.post(f"/orders/{order.number}/notes", {"text": "Mine"})

    assert [e["message"] for e in read.data["timeline"] if e["type"] == "internal_note"] == [
        "VIP customer"
    ]
    assert (written.status_code, written.data["code"]) == (403, "forbidden")
    assert OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).count() == 1


def test_another_organizations_order_takes_no_note(world: factories.World, client: Client) -> None:
    order = factories.order(world)
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    response = stranger.post(f"/orders/{order.number}/notes", {"text": "Hello"})

    assert (response.status_code, response.data["code"]) == (404, "not_found")
    assert not OrderEvent.objects.filter(type=EventType.INTERNAL_NOTE).exists()


def test_the_openapi_document_has_the_desk_operations(client: Client) -> None:
    paths = client.get(f"{BASE}/openapi.json").json()["paths"]

    assert "post" in paths["/api/v1/orders/{number}/notes"]
    assert paths["/api/v1/customers"]["get"]["security"] == [{"StaffToken": []}]
    assert "post" in paths["/api/v1/customers/export"]
    assert "post" in paths["/api/v1/customers/erase"]
    assert {"get", "post"} <= set(paths["/api/v1/orders/{number}/actions/{action_id}/resend"])
    assert "post" in paths["/api/v1/orders/{number}/email"]
    assert paths["/api/v1/orders/{number}/notes"]["post"]["security"] == [{"StaffToken": []}]


def test_the_customer_page_lists_the_tokens_orders_of_the_email(
    world: factories.World, staff: Staff, viewer: Staff
) -> None:
    first = factories.order(world, email="aino@example.com")
    second = factories.order(world, email="aino@example.com", currency="SEK")
    factories.order(world, email="other@example.com")

    response = viewer.get("/customers", email="AINO@example.com")

    assert response.status_code == 200
    data = response.data
    assert data["email"] == "aino@example.com"
    assert [o["number"] for o in data["orders"]] == [second.number, first.number]
    assert [t["currency"] for t in data["totals"]] == ["EUR", "SEK"]
    assert data["totals"][0]["paid_minor"] == first.total_minor
    assert data["access"] == []


def test_the_customer_page_of_another_organization_is_not_found(
    world: factories.World, client: Client
) -> None:
    factories.order(world, email="aino@example.com")
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    response = stranger.get("/customers", email="aino@example.com")

    assert (response.status_code, response.data["code"]) == (404, "not_found")


def test_a_bad_customer_email_is_a_400(staff: Staff) -> None:
    response = staff.get("/customers", email="not an email")
    missing = staff.get("/customers")

    assert (response.status_code, response.data["code"]) == (400, "invalid_parameters")
    assert response.data["detail"] == "email: Give a whole email address, like anna@example.com."
    assert missing.status_code == 422


def test_export_answers_json_or_csv_and_records_it(world: factories.World, staff: Staff) -> None:
    order = factories.order(world, email="aino@example.com")

    as_json = staff.post("/customers/export", {"email": "aino@example.com"})
    as_csv = staff.client.post(
        f"{BASE}/customers/export",
        data='{"email": "aino@example.com", "format": "csv"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {staff.raw}"},
    )

    assert as_json.status_code == 200
    assert as_json.data["orders"][0]["number"] == order.number
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert order.events.filter(type=EventType.CUSTOMER_DATA_EXPORTED).count() == 2


def test_erase_needs_the_count_and_erases_once(world: factories.World, staff: Staff) -> None:
    factories.order(world, email="aino@example.com")
    factories.order(world, email="aino@example.com")

    wrong = staff.post("/customers/erase", {"email": "aino@example.com", "expected_orders": 1})
    done = staff.post("/customers/erase", {"email": "aino@example.com", "expected_orders": 2})
    again = staff.post("/customers/erase", {"email": "aino@example.com", "expected_orders": 2})

    assert (wrong.status_code, wrong.data["code"]) == (409, "order_count_changed")
    assert (done.status_code, done.data) == (200, {"erased_orders": 2})
    assert (again.status_code, again.data["code"]) == (404, "not_found")


def test_a_viewer_token_may_not_export_or_erase(world: factories.World, viewer: Staff) -> None:
    factories.order(world, email="aino@example.com")

    export = viewer.post("/customers/export", {"email": "aino@example.com"})
    erase = viewer.post("/customers/erase", {"email": "aino@example.com", "expected_orders": 1})

    assert [(r.status_code, r.data["code"]) for r in (export, erase)] == [(403, "forbidden")] * 2
    assert not OrderEvent.objects.filter(type=EventType.CUSTOMER_DATA_EXPORTED).exists()


def test_another_organization_may_not_export_or_erase(
    world: factories.World, client: Client
) -> None:
    factories.order(world, email="aino@example.com")
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    export = stranger.post("/customers/export", {"email": "aino@example.com"})
    erase = stranger.post("/customers/erase", {"email": "aino@example.com", "expected_orders": 1})

    assert [(r.status_code, r.data["code"]) for r in (export, erase)] == [(404, "not_found")] * 2


def test_resend_previews_then_queues_once_per_key(world: factories.World, staff: Staff) -> None:
    order = factories.order(world, email="aino@example.com")
    snapshot = email_action(order)
    path = f"/orders/{order.number}/actions/{snapshot.pk}/resend"

    preview = staff.get(path)
    first = staff.post(path, **{"Idempotency-Key": "resend-key-1"})
    again = staff.post(path, **{"Idempotency-Key": "resend-key-1"})

    assert preview.data["to"] == "aino@example.com"
    assert preview.data["subject"] == f"Your receipt for order #{order.number}"
    assert (first.status_code, first.data["queued"]) == (200, True)
    assert first.data["run"]["operation"] == "resend"
    assert again.data["queued"] is False
    assert ActionRun.objects.count() == 1


def test_resend_of_an_action_that_sends_no_email_is_a_400(
    world: factories.World, staff: Staff
) -> None:
    order = factories.order(world)
    snapshot = factories.failed_kajabi_action(world, order)

    response = staff.post(
        f"/orders/{order.number}/actions/{snapshot.pk}/resend", **{"Idempotency-Key": "k" * 12}
    )

    assert (response.status_code, response.data["code"]) == (400, "invalid_parameters")


def test_resend_is_forbidden_to_a_viewer_and_hidden_from_another_organization(
    world: factories.World, viewer: Staff, client: Client
) -> None:
    order = factories.order(world)
    snapshot = email_action(order)
    path = f"/orders/{order.number}/actions/{snapshot.pk}/resend"
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    forbidden = viewer.post(path, **{"Idempotency-Key": "resend-key-2"})
    hidden = stranger.post(path, **{"Idempotency-Key": "resend-key-3"})

    assert (forbidden.status_code, forbidden.data["code"]) == (403, "forbidden")
    assert (hidden.status_code, hidden.data["code"]) == (404, "not_found")
    assert not ActionRun.objects.exists()


def test_a_receipt_is_previewed_then_sent_once_per_key(
    world: factories.World, staff: Staff
) -> None:
    order = factories.order(world, email="aino@example.com")
    path = f"/orders/{order.number}/receipt"

    preview = staff.get(path, language="fi")
    first = staff.post(path, {"language": "fi"}, **{"Idempotency-Key": "receipt-key-1"})
    again = staff.post(path, {"language": "fi"}, **{"Idempotency-Key": "receipt-key-1"})
    with_action = staff.get(path)

    assert preview.data["subject"] == f"Kuittisi tilauksesta #{order.number}"
    assert (first.status_code, first.data["queued"]) == (200, True)
    assert first.data["run"]["operation"] == "run"
    assert [a["kind"] for a in first.data["order"]["actions"]] == ["send_receipt"]
    assert (again.status_code, again.data["queued"]) == (200, False)
    assert (with_action.status_code, with_action.data["code"]) == (400, "invalid_parameters")
    assert ActionRun.objects.count() == 1


def test_a_receipt_is_refused_for_an_unpaid_order_a_viewer_and_a_stranger(
    world: factories.World, viewer: Staff, client: Client, staff: Staff
) -> None:
    order = factories.order(world)
    unpaid = factories.order(world, status=OrderStatus.PROCESSING)
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)
    key = {"Idempotency-Key": "receipt-key-2"}

    not_paid = staff.post(f"/orders/{unpaid.number}/receipt", {}, **key)
    bad_language = staff.post(f"/orders/{order.number}/receipt", {"language": "de"}, **key)
    forbidden = viewer.post(f"/orders/{order.number}/receipt", {}, **key)
    hidden = stranger.post(f"/orders/{order.number}/receipt", {}, **key)

    assert (not_paid.status_code, not_paid.data["code"]) == (400, "invalid_parameters")
    assert bad_language.status_code == 422
    assert (forbidden.status_code, hidden.status_code) == (403, 404)
    assert not ActionRun.objects.exists()


def test_the_email_is_corrected_as_the_token(world: factories.World, staff: Staff) -> None:
    order = factories.order(world, email="aino@exmaple.com")

    response = staff.post(f"/orders/{order.number}/email", {"email": "AINO@example.com"})
    same = staff.post(f"/orders/{order.number}/email", {"email": "aino@example.com"})
    bad = staff.post(f"/orders/{order.number}/email", {"email": "nope"})

    assert response.status_code == 200
    assert response.data["customer"]["email"] == "aino@example.com"
    changed = [e for e in response.data["timeline"] if e["type"] == "email_changed"]
    assert changed[0]["data"] == {"old": "aino@exmaple.com", "new": "aino@example.com"}
    assert changed[0]["actor_type"] == "api_token"
    assert [(r.status_code, r.data["code"]) for r in (same, bad)] == [
        (400, "invalid_parameters")
    ] * 2


def test_a_viewer_or_a_stranger_cannot_correct_the_email(
    world: factories.World, viewer: Staff, client: Client
) -> None:
    order = factories.order(world, email="aino@example.com")
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    forbidden = viewer.post(f"/orders/{order.number}/email", {"email": "x@example.com"})
    hidden = stranger.post(f"/orders/{order.number}/email", {"email": "x@example.com"})

    assert (forbidden.status_code, hidden.status_code) == (403, 404)
    order.refresh_from_db()
    assert order.customer_email == "aino@example.com"
