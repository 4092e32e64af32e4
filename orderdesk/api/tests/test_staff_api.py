"""The staff REST API (SPEC F11): tokens and tenancy, the list and its cursors, the detail, each
verb's effect and actor, refund idempotency, the CSV export, a report, the OpenAPI document."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from orderdesk.actions.models import (
    ActionRun,
    ActionSnapshot,
    RunOperation,
    RunStatus,
    SnapshotStatus,
)
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActionHealth, ActorType, Order, OrderStatus, OrderTag
from orderdesk.organizations.models import ApiToken, Checkout, CheckoutRole
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes

__all__ = ["fake", "fakes"]

BASE = "/api/v1"


class Staff:
    """A developer's client holding one API token."""

    def __init__(self, client: Client, raw: str, token: ApiToken) -> None:
        self.client = client
        self.raw = raw
        self.token = token

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(
            BASE + path, params, headers={"Authorization": f"Bearer {self.raw}"}
        )
        if response.get("Content-Type", "").startswith("application/json"):
            response.data = response.json()  # type: ignore[attr-defined]
        return response

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        response = self.client.post(
            BASE + path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.raw}", **headers},
        )
        response.data = response.json()  # type: ignore[attr-defined]
        return response


def staff_for(
    client: Client, checkout: Checkout, role: str = CheckoutRole.CUSTOMER_SERVICE
) -> Staff:
    token, raw = ApiToken.issue(checkout=checkout, name=f"{role} script", role=role)
    return Staff(client, raw, token)


@pytest.fixture
def staff(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout)


@pytest.fixture
def viewer(world: factories.World, client: Client) -> Staff:
    return staff_for(client, world.checkout, CheckoutRole.VIEWER)


# --- tokens and tenancy --------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer od_not-a-token", "Bearer ck_an-ingest-key", "Basic b2Q6eA=="],
)
def test_it_refuses_a_missing_or_unknown_token(
    world: factories.World, client: Client, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get(f"{BASE}/orders", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_checkout_ingest_key(world: factories.World, client: Client) -> None:
    response = client.get(f"{BASE}/orders", headers={"Authorization": f"Bearer {world.ingest_key}"})

    assert response.status_code == 401


def test_it_refuses_a_revoked_token(staff: Staff) -> None:
    ApiToken.objects.filter(pk=staff.token.pk).update(revoked_at=timezone.now())

    response = staff.get("/orders")

    assert response.status_code == 401


def test_it_notes_when_a_token_was_last_used_at_most_once_a_minute(staff: Staff) -> None:
    assert staff.token.last_used_at is None

    staff.get("/orders")
    staff.token.refresh_from_db()
    first = staff.token.last_used_at
    staff.get("/orders")
    staff.token.refresh_from_db()

    assert first is not None
    assert staff.token.last_used_at == first
    stale = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=staff.token.pk).update(last_used_at=stale)
    staff.get("/orders")
    staff.token.refresh_from_db()
    assert staff.token.last_used_at > stale


def test_another_checkouts_order_is_not_found(
    world: factories.World, client: Client, staff: Staff
) -> None:
    order = factories.order(world)
    stranger = staff_for(client, world.other_checkout, CheckoutRole.ADMIN)

    detail = stranger.get(f"/orders/{order.number}")
    complete = stranger.post(f"/orders/{order.number}/mark-completed")
    listed = stranger.get("/orders")

    assert (detail.status_code, detail.data["code"]) == (404, "not_found")
    assert complete.status_code == 404
    assert listed.data["orders"] == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_an_order_of_another_checkout_of_the_same_organization_is_not_found(
    world: factories.World, client: Client
) -> None:
    order = factories.order(world)
    second, _ = factories.checkout(world.org, "Second checkout")

    response = staff_for(client, second, CheckoutRole.ADMIN).get(f"/orders/{order.number}")

    assert response.status_code == 404


def test_a_viewer_token_reads_but_every_verb_is_forbidden(
    world: factories.World, viewer: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world, add_ons=(world.bump,))
    snapshot = factories.failed_kajabi_action(world, order)
    course = order.lines.order_by("position").first()
    assert course is not None
    before = database_state()

    read = viewer.get(f"/orders/{order.number}")
    answers = [
        viewer.post(f"/orders/{order.number}/mark-completed"),
        viewer.post(f"/orders/{order.number}/actions/{snapshot.pk}/rerun"),
        viewer.post(
            f"/orders/{order.number}/refunds",
            {"lines": [{"line_id": course.pk, "amount_minor": 100}]},
            **{"Idempotency-Key": "viewer-key-1"},
        ),
    ]

    assert read.status_code == 200
    assert [(a.status_code, a.data["code"]) for a in answers] == [(403, "forbidden")] * 3
    assert database_state() == before
    assert not Refund.objects.exists()
    assert fake.calls == []


# --- list ----------------------------------------------------------------------------------


def test_it_lists_orders_newest_first_with_money_in_minor_units(
    world: factories.World, staff: Staff
) -> None:
    now = timezone.now()
    older = factories.order(world, created_at=now - dt.timedelta(hours=2), email="old@example.com")
    newer = factories.order(
        world, add_ons=(world.bump,), created_at=now - dt.timedelta(hours=1), currency="SEK"
    )

    response = staff.get("/orders")

    assert response.status_code == 200
    numbers = [row["number"] for row in response.data["orders"]]
    assert numbers == [newer.number, older.number]
    row = response.data["orders"][0]
    assert (row["currency"], row["total_minor"]) == ("SEK", newer.total_minor)
    assert [p["kind"] for p in row["products"]] == ["main", "order_bump"]
    assert row["payment"] == {"provider": "stripe", "method": "card", "status": "succeeded"}
    assert (row["source"], row["tags"], row["country"]) == ("Meta", ["black-friday", "ads"], "FI")
    assert response.data["next_cursor"] is None
    assert response.data["previous_cursor"] is None


# Half past midnight UTC: the order that needs attention, an hour old, is from yesterday.
@pytest.mark.time_machine(dt.datetime(2026, 10, 14, 0, 30, tzinfo=dt.UTC), tick=False)
def test_it_filters_like_the_orders_table(world: factories.World, staff: Staff) -> None:
    paid = factories.order(world, email="maija@example.com", first_name="Maija")
    started = factories.order(
        world, status=OrderStatus.STARTED, email="pekka@example.com", first_name="Pekka"
    )
    attention = factories.order(
        world,
        email="late@example.com",
        first_name="Liisa",
        action_health=ActionHealth.FAILED,
        created_at=timezone.now() - dt.timedelta(hours=1),
    )

    def numbers(**params: str) -> list[int]:
        response = staff.get("/orders", **params)
        assert response.status_code == 200, response.data
        return sorted(row["number"] for row in response.data["orders"])

    assert numbers(status="started") == [started.number]
    assert numbers(email="maija@example.com") == [paid.number]
    assert numbers(q="pekka") == [started.number]
    assert numbers(first_name="maija") == [paid.number]
    assert numbers(number=str(paid.number)) == [paid.number]
    assert numbers(tag="black-friday", status="paid") == sorted([paid.number, attention.number])
    assert numbers(tab="attention") == [attention.number]
    assert numbers(discount_code="NOSUCH") == []
    assert numbers(date_from="2026-10-14", tz="UTC") == sorted([paid.number, started.number])
    assert numbers(date_to="2026-10-13", tz="UTC") == [attention.number]


def test_a_filter_left_empty_means_any(world: factories.World, staff: Staff) -> None:
    order = factories.order(world)

    response = staff.get(
        "/orders", number="", status="", date_from="", date_to="", tab="", tz="", q=""
    )

    assert response.status_code == 200, response.data
    assert [row["number"] for row in response.data["orders"]] == [order.number]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"date_from": "2026-02-01", "date_to": "2026-01-01"},
            "date_to",
            "The end date is before the start date.",
        ),
        ({"date_from": "1999-12-31"}, "date_from", "Use a date between 2000 and 2100."),
        ({"q": "ab"}, "q", "Type at least 3 characters, or an order number."),
        ({"email": "a\x00b@x.fi"}, "email", "Remove the invisible NUL character (%00)."),
        ({"tz": "Mars/Olympus"}, "tz", "Use a time zone name like Europe/Helsinki."),
        ({"after": "yesterday"}, "after", "Not a cursor from this API"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_parameter(
    world: factories.World, staff: Staff, params: dict[str, str], field: str, message: str
) -> None:
    response = staff.get("/orders", **params)

    assert response.status_code == 400
    assert response.data["code"] == "invalid_parameters"
    assert response.data["detail"].startswith(f"{field}: {message}")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        # The OpenAPI document types these, so a value of another type is malformed.
        ({"status": "lost"}, "status"),
        ({"number": "12a"}, "number"),
        ({"number": "0"}, "number"),
        ({"date_from": "31.1.2026"}, "date_from"),
        ({"tab": "archive"}, "tab"),
        ({"discount_code": "X" * 51}, "discount_code"),
    ],
)
def test_a_parameter_of_the_wrong_type_is_a_422(
    world: factories.World, staff: Staff, params: dict[str, str], field: str
) -> None:
    response = staff.get("/orders", **params)

    assert response.status_code == 422
    assert response.data["code"] == "invalid_input"
    assert response.data["detail"].startswith(f"{field}: ")
    assert ";" not in response.data["detail"]  # one problem, said once


def test_cursors_walk_every_order_once_and_back(world: factories.World, staff: Staff) -> None:
    start = timezone.now() - dt.timedelta(days=1)
    # Two orders share a creation time: the id breaks the tie.
    orders = [factories.order(world, created_at=start + dt.timedelta(minutes=i)) for i in range(4)]
    orders.append(factories.order(world, created_at=orders[-1].created_at))
    newest_first = [o.number for o in sorted(orders, key=lambda o: (o.created_at, o.pk))][::-1]

    first = staff.get("/orders", limit="2")
    second = staff.get("/orders", limit="2", after=first.data["next_cursor"])
    third = staff.get("/orders", limit="2", after=second.data["next_cursor"])
    back = staff.get("/orders", limit="2", before=second.data["previous_cursor"])

    pages = [[row["number"] for row in r.data["orders"]] for r in (first, second, third)]
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    assert first.data["previous_cursor"] is None
    assert third.data["next_cursor"] is None
    assert [row["number"] for row in back.data["orders"]] == newest_first[:2]
    assert back.data["previous_cursor"] is None


def test_a_page_costs_the_same_queries_for_few_or_many_orders(
    world: factories.World, staff: Staff, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        factories.order(world, add_ons=(world.bump,))
    staff.get("/orders")  # the token's last use is written once

    # Token, the address's failed guesses (lib/lockouts.py), then the page's own queries.
    with django_assert_max_num_queries(5):
        few = staff.get("/orders")
    for _ in range(6):
        factories.order(world, add_ons=(world.bump,))
    with django_assert_max_num_queries(5):
        many = staff.get("/orders")

    assert (len(few.data["orders"]), len(many.data["orders"])) == (3, 9)


# --- detail --------------------------------------------------------------------------------


def test_the_detail_has_every_part_of_the_panel(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world, add_ons=(world.bump,), company="Studio Oy")
    snapshot = factories.failed_kajabi_action(world, order)
    course = order.lines.order_by("position").first()
    assert course is not None
    refund = staff.post(
        f"/orders/{order.number}/refunds",
        {"lines": [{"line_id": course.pk, "amount_minor": 1000}], "reason": "Late delivery"},
        **{"Idempotency-Key": "detail-refund-1"},
    )
    assert refund.status_code == 201, refund.data

    response = staff.get(f"/orders/{order.number}")

    data = response.data
    assert response.status_code == 200
    assert (data["number"], data["status"]) == (order.number, "partially_refunded")
    general = data["general"]
    assert (general["offer"], general["link"], general["source"]) == (
        "Masterclass launch",
        "Black Friday Meta",
        "Meta",
    )
    assert general["total_minor"] == order.total_minor == 7900 + 900
    assert general["refunded_minor"] == 1000
    assert sum(row["gross_minor"] for row in general["vat_breakdown"]) == order.total_minor
    assert data["customer"]["company"] == "Studio Oy"
    assert [(line["name"], line["refunded_minor"]) for line in data["lines"]] == [
        ("Photography Masterclass", 1000),
        ("Workbook PDF", 0),
    ]
    assert data["lines"][0]["refundable_minor"] == 7900 - 1000
    assert [p["status"] for p in data["payments"]] == ["partially_refunded"]
    assert [
        (r["amount_minor"], r["status"], r["reason"], r["created_by"]) for r in data["refunds"]
    ] == [(1000, "succeeded", "Late delivery", "API token customer_service script")]
    assert data["refunds"][0]["lines"] == [
        {"line_id": course.pk, "amount_minor": 1000, "vat_minor": 203, "remove_access": False}
    ]
    assert [(a["id"], a["status"], a["last_error"]) for a in data["actions"]] == [
        (snapshot.pk, "failed", "Kajabi answered 422: Email: is invalid")
    ]
    types = [e["type"] for e in data["timeline"]]
    assert EventType.REFUND_REQUESTED in types
    requested = next(e for e in data["timeline"] if e["type"] == EventType.REFUND_REQUESTED)
    assert (requested["actor_type"], requested["actor"]) == (
        "api_token",
        "API token customer_service script",
    )


def test_an_unknown_number_is_a_404(world: factories.World, staff: Staff) -> None:
    response = staff.get("/orders/999999")

    assert (response.status_code, response.data["code"]) == (404, "not_found")


# --- verbs ---------------------------------------------------------------------------------


def test_mark_completed_completes_and_reruns_as_the_token(
    world: factories.World, staff: Staff
) -> None:
    order = factories.order(world)
    factories.failed_kajabi_action(world, order)

    response = staff.post(f"/orders/{order.number}/mark-completed", {})

    assert response.status_code == 200, response.data
    assert response.data["status"] == "marked_completed"
    order.refresh_from_db()
    assert order.status == OrderStatus.MARKED_COMPLETED
    event = order.events.get(type=EventType.MARKED_COMPLETED)
    assert (event.actor_type, event.actor_token) == (ActorType.API_TOKEN, staff.token)
    assert ActionRun.objects.get().status == RunStatus.QUEUED


def test_mark_completed_of_an_unpaid_order_is_refused_and_changes_nothing(
    world: factories.World, staff: Staff
) -> None:
    order = factories.order(world, status=OrderStatus.STARTED)
    before = database_state()

    response = staff.post(f"/orders/{order.number}/mark-completed")

    assert (response.status_code, response.data["code"]) == (409, "transition_not_allowed")
    assert database_state() == before


def test_rerun_queues_one_failed_action_as_the_token(world: factories.World, staff: Staff) -> None:
    order = factories.order(world)
    snapshot = factories.failed_kajabi_action(world, order)

    first = staff.post(f"/orders/{order.number}/actions/{snapshot.pk}/rerun")
    again = staff.post(f"/orders/{order.number}/actions/{snapshot.pk}/rerun")

    assert first.status_code == 200, first.data
    assert first.data["queued"] is True
    run = ActionRun.objects.get()
    assert first.data["run"]["id"] == run.pk
    assert (again.data["queued"], again.data["run"]) == (False, None)
    event = order.events.get(type=EventType.ACTION_RERUN)
    assert (event.actor_type, event.actor_token) == (ActorType.API_TOKEN, staff.token)
    assert [a["status"] for a in first.data["order"]["actions"]] == ["pending"]


def test_rerun_of_another_orders_action_is_not_found(world: factories.World, staff: Staff) -> None:
    order = factories.order(world)
    other = factories.order(world)
    snapshot = factories.failed_kajabi_action(world, other)

    response = staff.post(f"/orders/{order.number}/actions/{snapshot.pk}/rerun")

    assert response.status_code == 404
    assert not ActionRun.objects.exists()


def test_retry_access_removal_queues_the_failed_removal_again(
    world: factories.World, staff: Staff
) -> None:
    order = factories.order(world)
    snapshot = factories.failed_kajabi_action(world, order)
    ActionSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.SUCCEEDED)
    ActionRun.objects.create(
        snapshot=snapshot,
        operation=RunOperation.REVOKE,
        status=RunStatus.FAILED,
        run_after=timezone.now(),
        error_message="Kajabi answered 500",
    )
    path = f"/orders/{order.number}/actions/{snapshot.pk}/retry-access-removal"
    assert staff.get(f"/orders/{order.number}").data["actions"][0]["access_removal_failed"]

    response = staff.post(path)

    assert response.status_code == 200, response.data
    assert response.data["queued"] is True
    run = ActionRun.objects.get(pk=response.data["run"]["id"])
    assert (run.operation, run.status) == (RunOperation.REVOKE, RunStatus.QUEUED)
    event = order.events.get(type=EventType.ACCESS_REVOKED)
    assert (event.actor_type, event.actor_token) == (ActorType.API_TOKEN, staff.token)
    assert staff.post(path).data["queued"] is False


def refund_body(order: Order, amount: int, **extra: Any) -> dict[str, Any]:
    course = order.lines.order_by("position").first()
    assert course is not None
    return {"lines": [{"line_id": course.pk, "amount_minor": amount}], **extra}


def test_a_refund_goes_through_the_provider_as_the_token(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)

    response = staff.post(
        f"/orders/{order.number}/refunds",
        refund_body(order, 2500),
        **{"Idempotency-Key": "refund-key-0001"},
    )

    assert response.status_code == 201, response.data
    refund = Refund.objects.get()
    assert response.data["refund"]["id"] == refund.pk
    assert (refund.status, refund.amount_minor, refund.created_by_token) == (
        RefundStatus.SUCCEEDED,
        2500,
        staff.token,
    )
    assert response.data["order"]["status"] == "partially_refunded"
    # The same sentence as the web dialog's (payments.refunds.refund_outcome).
    assert response.data["message"] == "Refund of €25.00 succeeded through Stripe."
    assert len(fake.calls) == 1
    event = order.events.get(type=EventType.REFUND_REQUESTED)
    assert (event.actor_type, event.actor_token) == (ActorType.API_TOKEN, staff.token)


def test_a_replayed_refund_answers_with_the_first_and_moves_no_money_twice(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)
    key = {"Idempotency-Key": "double-click-42"}

    first = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 2500), **key)
    again = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 2500), **key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert first.data["refund"]["id"] == again.data["refund"]["id"]
    assert Refund.objects.count() == 1
    assert len(fake.calls) == 1
    order.refresh_from_db()
    assert order.refunded_minor == 2500


def test_a_key_sent_again_with_other_amounts_is_a_conflict(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)
    key = {"Idempotency-Key": "reused-key-7"}
    first = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 2500), **key)
    before = database_state()

    again = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 3000), **key)

    assert first.status_code == 201
    assert (again.status_code, again.data["code"]) == (409, "idempotency_key_reused")
    assert database_state() == before
    assert Refund.objects.count() == 1
    assert len(fake.calls) == 1


def test_a_key_sent_again_with_other_options_is_a_conflict(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    # Same amounts, but this time "record only": answering with the first refund would claim
    # a record-only refund was made when money moved.
    order = factories.order(world)
    key = {"Idempotency-Key": "reused-key-8"}
    first = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 2500), **key)
    before = database_state()

    again = staff.post(
        f"/orders/{order.number}/refunds", refund_body(order, 2500, via_provider=False), **key
    )

    assert first.status_code == 201
    assert (again.status_code, again.data["code"]) == (409, "idempotency_key_reused")
    assert database_state() == before
    assert len(fake.calls) == 1


def test_a_recorded_only_refund_sent_again_is_a_replay(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    # A manual payment cannot be refunded through its provider: the refund is recorded only
    # although the request asked for the provider. The request, not the outcome, is compared.
    order = factories.order(world, provider="manual", method="invoice")
    key = {"Idempotency-Key": "invoice-refund-1"}
    body = {"lines": [{"line_id": order.lines.get().pk, "amount_minor": 1000}]}

    first = staff.post(f"/orders/{order.number}/refunds", body, **key)
    again = staff.post(f"/orders/{order.number}/refunds", body, **key)

    assert (first.status_code, again.status_code) == (201, 200), again.data
    assert again["Idempotent-Replayed"] == "true"
    assert first.data["refund"]["status"] == RefundStatus.RECORDED
    assert again.data["message"] == first.data["message"]
    assert Refund.objects.count() == 1


def test_a_refund_needs_an_idempotency_key(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)

    missing = staff.post(f"/orders/{order.number}/refunds", refund_body(order, 100))
    short = staff.post(
        f"/orders/{order.number}/refunds", refund_body(order, 100), **{"Idempotency-Key": "abc"}
    )

    assert (missing.status_code, short.status_code) == (422, 422)
    assert "Idempotency-Key" in missing.data["detail"]
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (lambda o: refund_body(o, 7901), "At most €79.00 can be refunded for this product."),
        (lambda o: {"lines": [{"line_id": 10**9, "amount_minor": 1}]}, "not part of this order"),
        (lambda o: refund_body(o, 0), "Enter an amount to refund"),
        (lambda o: refund_body(o, 100, currency="SEK"), "This order is in EUR, not SEK."),
        (lambda o: refund_body(o, 100, remove_offer_access=True), "no offer access to remove"),
    ],
)
def test_a_refund_that_cannot_be_made_is_a_400_and_changes_nothing(
    world: factories.World, staff: Staff, fake: FakeProvider, body: Any, message: str
) -> None:
    order = factories.order(world)
    before = database_state()

    response = staff.post(
        f"/orders/{order.number}/refunds", body(order), **{"Idempotency-Key": "too-much-0001"}
    )

    assert (response.status_code, response.data["code"]) == (400, "refund_refused")
    assert message in response.data["detail"]
    assert database_state() == before
    assert not Refund.objects.exists()
    assert fake.calls == []


def test_a_refund_over_what_is_left_after_an_earlier_refund_is_refused(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)
    first = staff.post(
        f"/orders/{order.number}/refunds",
        refund_body(order, 7000),
        **{"Idempotency-Key": "first-refund-1"},
    )
    assert first.status_code == 201

    second = staff.post(
        f"/orders/{order.number}/refunds",
        refund_body(order, 1000),
        **{"Idempotency-Key": "second-refund-2"},
    )

    assert second.status_code == 400
    assert "At most €9.00" in second.data["detail"]
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.refunded_minor == 7000


def test_a_refund_lists_each_line_once(
    world: factories.World, staff: Staff, fake: FakeProvider
) -> None:
    order = factories.order(world)
    body = refund_body(order, 100)
    body["lines"] = body["lines"] * 2

    response = staff.post(
        f"/orders/{order.number}/refunds", body, **{"Idempotency-Key": "twice-line-1"}
    )

    assert (response.status_code, response.data["code"]) == (400, "invalid_parameters")
    assert not Refund.objects.exists()


# --- CSV export ----------------------------------------------------------------------------


def test_the_csv_export_streams_the_filtered_orders(world: factories.World, staff: Staff) -> None:
    wanted = factories.order(world, add_ons=(world.bump,), email="wanted@example.com")
    factories.order(world, email="other@example.com")
    factories.order(world, status=OrderStatus.STARTED, email="wanted@example.com")

    response = staff.get("/orders/export.csv", email="wanted@example.com", status="paid")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["Order number"], r["Product"]) for r in rows] == [
        (str(wanted.number), "Photography Masterclass"),
        (str(wanted.number), "Workbook PDF"),
    ]


def test_the_csv_export_by_tag_lists_each_tagged_order_once_newest_first(
    world: factories.World, staff: Staff
) -> None:
    now = timezone.now()
    older, newer = (
        factories.order(world, created_at=now - dt.timedelta(days=days)) for days in (2, 1)
    )
    factories.order(world, created_at=now - dt.timedelta(hours=1))  # untagged
    for o in (older, newer):
        Order.objects.filter(pk=o.pk).update(tags=["VIP"])
        OrderTag.objects.create(
            order=o, checkout=world.checkout, tag="VIP", created_at=o.created_at
        )
    # Two tags that fold alike: on PostgreSQL the ids come from the tag rows (tag_index_ids).
    OrderTag.objects.create(
        order=newer, checkout=world.checkout, tag="vip", created_at=newer.created_at
    )

    response = staff.get("/orders/export.csv", tag="Vip")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["Order number"] for r in rows if r["Product"] == "Photography Masterclass"] == [
        str(newer.number),
        str(older.number),
    ]


def test_the_csv_export_refuses_a_bad_filter(world: factories.World, staff: Staff) -> None:
    short = staff.get("/orders/export.csv", q="ab")
    mistyped = staff.get("/orders/export.csv", status="lost")

    assert (short.status_code, short.data["code"]) == (400, "invalid_parameters")
    assert (mistyped.status_code, mistyped.data["code"]) == (422, "invalid_input")


# --- reports -------------------------------------------------------------------------------


def test_the_report_export_streams_the_periods_paid_orders(
    world: factories.World, staff: Staff
) -> None:
    now = timezone.now()
    paid = factories.order(world, created_at=now - dt.timedelta(days=1))
    factories.order(world, status=OrderStatus.STARTED, created_at=now - dt.timedelta(days=1))
    factories.order(world, created_at=now - dt.timedelta(days=60))

    response = staff.get("/reports/export.csv", period="last_7_days", tz="UTC")
    bad = staff.get("/reports/export.csv", period="custom", to="2026-01-31")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="orders-paid-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["Order number"] for r in rows} == {str(paid.number)}
    assert (bad.status_code, bad.data["code"]) == (400, "invalid_parameters")


def test_the_sales_report_counts_paid_orders_in_minor_units(
    world: factories.World, staff: Staff
) -> None:
    now = timezone.now()
    paid = [
        factories.order(world, created_at=now - dt.timedelta(days=2)),
        factories.order(world, add_ons=(world.bump,), created_at=now - dt.timedelta(days=1)),
    ]
    factories.order(world, status=OrderStatus.STARTED, created_at=now - dt.timedelta(days=1))
    factories.order(world, created_at=now - dt.timedelta(days=60))  # outside the period

    response = staff.get("/reports/sales", period="last_7_days", tz="UTC")

    assert response.status_code == 200, response.data
    data = response.data
    revenue = sum(o.total_minor for o in paid)
    headline = data["headline"]
    assert headline["revenue"] == [{"currency": "EUR", "amount_minor": revenue}]
    assert (headline["orders"], headline["opened"]) == (2, 3)
    assert headline["average_order_value"] == [{"currency": "EUR", "amount_minor": revenue // 2}]
    assert headline["conversion_rate"] == "0.6667"
    assert data["previous"]["orders"] == 0
    assert data["period"]["preset"] == "last_7_days"
    (source,) = data["sales"]["sources"]["rows"]
    assert (source["label"], source["figures"]["orders"]) == ("Meta", 2)
    assert sum(b["orders"] for b in source["series"]) == 2
    assert data["products"] is None


def test_the_other_report_tabs_answer(world: factories.World, staff: Staff) -> None:
    factories.order(world, add_ons=(world.bump,), currency="SEK", country="SE")

    products = staff.get("/reports/products", currency="EUR")
    international = staff.get("/reports/international")
    analytics = staff.get("/reports/analytics", period="this_year")

    assert products.status_code == 200, products.data
    assert products.data["period"]["currency"] == "EUR"
    names = [p["name"] for p in products.data["products"]["products"]]
    assert sorted(names) == ["Photography Masterclass", "Workbook PDF"]
    assert [c["country"] for c in international.data["international"]] == ["SE"]
    assert analytics.data["analytics"]["payment_methods"][0]["method"] == "card"


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        (
            "/reports/sales",
            {"period": "custom", "from": "2026-02-01", "to": "2026-01-01"},
            400,
            "to: The last day is before the first day.",
        ),
        ("/reports/sales", {"period": "custom"}, 400, "from: A custom range needs a first day."),
        ("/reports/sales", {"currency": "XYZ"}, 400, "currency: Choose a currency from the list."),
        (
            "/reports/sales",
            {"tz": "Nowhere/City"},
            400,
            "tz: Use a time zone name like Europe/Helsinki.",
        ),
        ("/reports/sales", {"period": "forever"}, 422, "period: Input should be 'today'"),
        ("/reports/sales", {"granularity": "hour"}, 422, "granularity: Input should be 'day'"),
        ("/reports/sales", {"from": "1.2.2026"}, 422, "from: Use a date like 2026-01-31."),
        ("/reports/refunds", {}, 422, "path.tab: Input should be 'sales'"),
    ],
)
def test_a_bad_report_parameter_is_refused(
    world: factories.World,
    staff: Staff,
    path: str,
    params: dict[str, str],
    status: int,
    detail: str,
) -> None:
    response = staff.get(path, **params)

    assert response.status_code == status
    expected_code = "invalid_parameters" if status == 400 else "invalid_input"
    assert response.data["code"] == expected_code
    assert response.data["detail"].startswith(detail)


def test_the_all_time_report_starts_at_the_first_order(
    world: factories.World, staff: Staff
) -> None:
    factories.order(world, created_at=timezone.now() - dt.timedelta(days=400))

    response = staff.get("/reports/international", period="all_time", tz="UTC")

    assert response.status_code == 200
    assert response.data["previous"] is None
    assert response.data["international"][0]["figures"]["orders"] == 1


# --- OpenAPI -------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_staff_api(client: Client) -> None:
    document = client.get(f"{BASE}/openapi.json").json()

    paths = document["paths"]
    for path, method in [
        ("/api/v1/orders", "get"),
        ("/api/v1/orders/export.csv", "get"),
        ("/api/v1/orders/{number}", "get"),
        ("/api/v1/orders/{number}/mark-completed", "post"),
        ("/api/v1/orders/{number}/actions/{action_id}/rerun", "post"),
        ("/api/v1/orders/{number}/actions/{action_id}/retry-access-removal", "post"),
        ("/api/v1/orders/{number}/refunds", "post"),
        ("/api/v1/reports/{tab}", "get"),
        ("/api/v1/reports/export.csv", "get"),
    ]:
        assert method in paths[path], path
        assert paths[path][method]["security"] == [{"StaffToken": []}]
    refund_params = {
        p["name"] for p in paths["/api/v1/orders/{number}/refunds"]["post"]["parameters"]
    }
    assert "Idempotency-Key" in refund_params
    list_params = {p["name"] for p in paths["/api/v1/orders"]["get"]["parameters"]}
    assert {"status", "email", "tag", "discount_code", "date_from", "after", "limit"} <= list_params
    assert "text/csv" in paths["/api/v1/orders/export.csv"]["get"]["responses"]["200"]["content"]
    assert document["components"]["securitySchemes"]["StaffToken"]["scheme"] == "bearer"


def test_the_openapi_document_types_the_filters(client: Client) -> None:
    document = client.get(f"{BASE}/openapi.json").json()

    def parameters(path: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}

    orders = parameters("/api/v1/orders")
    assert orders["number"]["type"] == "integer"
    assert (orders["number"]["minimum"], orders["number"]["maximum"]) == (1, 10**18 - 1)
    for name in ("date_from", "date_to"):
        assert (orders[name]["type"], orders[name]["format"]) == ("string", "date")
    (status,) = orders["status"]["allOf"]
    assert status["enum"] == list(OrderStatus.values)
    (tab,) = orders["tab"]["allOf"]
    assert tab["enum"] == ["all", "attention"]
    assert (orders["tz"]["type"], orders["email"]["maxLength"]) == ("string", 254)
    assert (orders["limit"]["type"], orders["limit"]["maximum"]) == ("integer", 50)
    # Query parameters are absent, never null.
    assert all("anyOf" not in schema for schema in orders.values())
    assert parameters("/api/v1/orders/export.csv").keys() == orders.keys() - {
        "after",
        "before",
        "limit",
    }

    reports = parameters("/api/v1/reports/{tab}")
    assert reports["tab"]["enum"] == ["sales", "products", "international", "analytics", "vat"]
    (period,) = reports["period"]["allOf"]
    assert "custom" in period["enum"]
    (granularity,) = reports["granularity"]["allOf"]
    assert granularity["enum"] == ["day", "week", "month"]
    assert (reports["from"]["format"], reports["to"]["format"]) == ("date", "date")
    assert parameters("/api/v1/reports/export.csv").keys() == reports.keys() - {"tab"}
    assert parameters("/api/v1/reports/vat.csv").keys() == reports.keys() - {"tab"}
    assert "currency" in reports
