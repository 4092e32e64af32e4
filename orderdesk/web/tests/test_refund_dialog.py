from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from orderdesk.actions.models import ActionRun, ActionSnapshot
from orderdesk.orders.models import Order, OrderEvent, OrderStatus
from orderdesk.organizations.models import Checkout, User
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.providers.base import PaymentProvider
from orderdesk.payments.refunds import EPASSI_PARTIAL_MESSAGE, MANUAL_MESSAGE
from orderdesk.payments.refunds import plan as refund_plan
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state
from orderdesk.testing.fake_providers import FakeProvider, fake, fakes
from orderdesk.web.refund_form import REMINDER

__all__ = ["fake", "fakes"]

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def url(order: Order) -> str:
    return f"/orders/{order.number}/refund/"


def post(c: Client, order: Order, **fields: str) -> tuple[int, str]:
    data = {"key": uuid.uuid4().hex, "refund_payments": "on", **fields}
    response = c.post(url(order), data, headers=HTMX)
    return response.status_code, response.content.decode()


@pytest.fixture
def order(world: factories.World) -> Order:
    return factories.order(world, add_ons=(world.bump,))


def amount_field(order: Order, position: int) -> str:
    return f"amount_{order.lines.order_by('position')[position].pk}"


def test_it_shows_the_refund_button_to_customer_service_only(
    world: factories.World, order: Order
) -> None:
    panel = {"HX-Request": "true", "HX-Target": "panel"}
    for user, shown in [(world.sam, True), (world.alice, True), (world.bob, False)]:
        html = client_for(user).get(f"/orders/{order.number}/", headers=panel).content.decode()
        assert (url(order) in html) is shown, user


def test_a_viewer_cannot_open_or_post_the_form(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    bob = client_for(world.bob)
    assert bob.get(url(order), headers=HTMX).status_code == 403
    status, _ = post(bob, order, **{amount_field(order, 0): "10"})
    assert status == 403
    assert Refund.objects.count() == 0
    assert fake.calls == []


def test_another_organization_gets_a_404(world: factories.World, order: Order) -> None:
    assert client_for(world.charlie).get(url(order), headers=HTMX).status_code == 404


def test_the_form_lists_each_product_with_its_maximum_and_the_provider_message(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    html = client_for(world.sam).get(url(order), headers=HTMX).content.decode()
    assert "<dialog" in html
    assert "Photography Masterclass" in html
    assert "Max €79.00" in html
    assert "Workbook PDF" in html
    assert "Max €9.00" in html
    assert 'name="refund_payments" checked' in html
    assert "through Stripe" in html
    assert REMINDER in html
    assert "remove_offer_access" not in html  # no offer-level Kajabi grant on this order


def test_it_offers_remove_offer_access_only_with_offer_grants(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    ActionSnapshot.objects.create(order=order, level="checkout", kind="kajabi_grant", name="K")
    html = client_for(world.sam).get(url(order), headers=HTMX).content.decode()
    assert "Remove offer access" in html


def test_it_tells_epassi_and_manual_orders_what_will_happen(
    world: factories.World, fake: FakeProvider
) -> None:
    epassi = factories.order(world, add_ons=(world.bump,), provider="epassi", method="epassi")
    manual = factories.order(world, provider="manual", method="invoice")
    sam = client_for(world.sam)
    epassi_html = sam.get(url(epassi), headers=HTMX).content.decode()
    assert EPASSI_PARTIAL_MESSAGE.replace("'", "&#x27;") in epassi_html
    assert MANUAL_MESSAGE in sam.get(url(manual), headers=HTMX).content.decode()


def test_a_partial_refund_updates_the_panel_and_the_row(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    sam = client_for(world.sam)
    response = sam.post(
        url(order),
        {
            "key": uuid.uuid4().hex,
            "refund_payments": "on",
            amount_field(order, 0): "12,50",
            "reason": "Customer asked",
        },
        headers=HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#panel"
    assert response["HX-Trigger"] == "order-updated"
    html = response.content.decode()
    assert "Refund of €12.50 succeeded through Stripe." in html
    assert "hx-swap-oob" in html
    assert f"order-row-{order.number}" in html
    assert "Partially Refunded" in html
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.PARTIALLY_REFUNDED, 1250)
    refund = Refund.objects.get()
    assert (refund.reason, refund.created_by) == ("Customer asked", world.sam)


def test_the_same_form_posted_twice_refunds_once(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    sam = client_for(world.sam)
    data = {"key": uuid.uuid4().hex, "refund_payments": "on", amount_field(order, 0): "79"}
    assert sam.post(url(order), data, headers=HTMX).status_code == 200
    again = sam.post(url(order), data, headers=HTMX)
    assert again.status_code == 200
    # The first refund's outcome, though the order has nothing left to refund on that line now.
    assert "Refund of €79.00 succeeded through Stripe." in again.content.decode()
    assert Refund.objects.count() == 1
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": "20"}, id="another amount"),
        pytest.param({"refund_payments": None}, id="refund payments unchecked"),
    ],
)
def test_the_same_form_posted_again_with_other_amounts_is_a_conflict_that_writes_nothing(
    world: factories.World, order: Order, fake: FakeProvider, change: dict[str, str | None]
) -> None:
    sam = client_for(world.sam)
    key = uuid.uuid4().hex
    field = amount_field(order, 0)
    first = {"key": key, "refund_payments": "on", field: "10"}
    assert sam.post(url(order), first, headers=HTMX).status_code == 200
    before = (database_state(), list(Refund.objects.values()))

    again = {**first, field: change.get("amount", "10")}
    if "refund_payments" in change:
        del again["refund_payments"]
    response = sam.post(url(order), again, headers=HTMX)

    assert response.status_code == 409
    html = response.content.decode()
    assert "This form already made a refund of €10.00 with other amounts or options" in html
    assert 'role="alert"' in html
    # A new form: the old key would only be refused again.
    assert f'value="{key}"' not in html
    assert 'name="key" value="' in html
    assert "Max €69.00" in html
    assert (database_state(), list(Refund.objects.values())) == before
    assert len(fake.calls) == 1


def test_the_dialog_asks_for_the_payment_adapter_once(
    world: factories.World, order: Order, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    # The fake the fixture put there.
    patched: Callable[[str, Checkout], PaymentProvider] = vars(refund_plan)["get_provider"]

    def counting(name: str, checkout: Checkout) -> PaymentProvider:
        lookups.append(name)
        return patched(name, checkout)

    monkeypatch.setattr(refund_plan, "get_provider", counting)

    response = client_for(world.sam).get(url(order), headers=HTMX)

    assert response.status_code == 200
    assert lookups == ["stripe"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "zero or more"),
        ("79.01", "At most €79.00"),
        ("abc", "such as 12.50"),
        ("1.234", "at most 2 decimals"),
        ("1e3", "such as 12.50"),
    ],
)
def test_it_shows_bad_amounts_next_to_the_field_and_writes_nothing(
    world: factories.World, order: Order, fake: FakeProvider, value: str, message: str
) -> None:
    events = OrderEvent.objects.count()
    field = amount_field(order, 0)
    status, html = post(client_for(world.sam), order, **{field: value})
    assert status == 400
    assert f'id="error_{field}"' in html
    assert message in html
    assert 'aria-invalid="true"' in html
    assert Refund.objects.count() == 0
    assert OrderEvent.objects.count() == events
    assert fake.calls == []


def test_it_needs_a_non_zero_amount(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    status, html = post(client_for(world.sam), order, **{amount_field(order, 0): "0"})
    assert status == 400
    assert "at least one product" in html
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # Found by test_refund_fuzz: "²".isdigit() is true, int("²") fails (500 everywhere).
        ({"amount_\u00b2": "5"}, "not on this order"),
        # NUL: a 500 on PostgreSQL, in the reason stored and in the key looked up.
        ({"reason": "dup\x00licate"}, "Remove the invisible NUL character"),
        ({"key": "k\x00" * 8}, "The form has expired"),
    ],
    ids=["superscript line id", "NUL in reason", "NUL in key"],
)
def test_it_refuses_malformed_fields_and_writes_nothing(
    world: factories.World, order: Order, fake: FakeProvider, fields: dict[str, str], message: str
) -> None:
    events = OrderEvent.objects.count()
    status, html = post(client_for(world.sam), order, **{amount_field(order, 0): "5", **fields})
    assert status == 400
    assert message in html
    assert Refund.objects.count() == 0
    assert OrderEvent.objects.count() == events
    assert fake.calls == []


def test_it_refuses_another_orders_line(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    other = factories.order(world)
    status, html = post(client_for(world.sam), order, **{f"amount_{other.lines.get().pk}": "5"})
    assert status == 400
    assert "not on this order" in html
    assert Refund.objects.count() == 0


def test_unchecked_refund_payments_records_only(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    data = {"key": uuid.uuid4().hex, amount_field(order, 1): "9.00"}
    response = client_for(world.sam).post(url(order), data, headers=HTMX)
    assert response.status_code == 200
    assert Refund.objects.get().status == RefundStatus.RECORDED
    assert fake.calls == []


def test_remove_access_is_taken_only_with_the_full_price(
    world: factories.World, order: Order, fake: FakeProvider
) -> None:
    # The dialog hides the box below the full price; a post that checks it anyway is refused
    # by the service's rule, as the API's is.
    ActionSnapshot.objects.create(
        order=order,
        level="product",
        kind="kajabi_grant",
        name="Course",
        product=world.course,
        status="succeeded",
    )
    course = order.lines.order_by("position")[0]
    sam = client_for(world.sam)
    status, html = post(
        sam, order, **{f"amount_{course.pk}": "10", f"remove_access_{course.pk}": "on"}
    )
    assert status == 400
    assert f'id="error_amount_{course.pk}"' in html
    assert "only when the product&#x27;s full price is refunded" in html
    assert (Refund.objects.count(), ActionRun.objects.count()) == (0, 0)
    post(sam, order, **{f"amount_{course.pk}": "79", f"remove_access_{course.pk}": "on"})
    assert ActionRun.objects.filter(operation="revoke").count() == 1


def test_a_refunded_order_has_no_form(world: factories.World, fake: FakeProvider) -> None:
    refunded = factories.order(world, status=OrderStatus.REFUNDED)
    status, html = post(
        client_for(world.sam), refunded, **{f"amount_{refunded.lines.get().pk}": "1"}
    )
    assert status == 400
    assert "cannot be refunded" in html
    assert Refund.objects.count() == 0
