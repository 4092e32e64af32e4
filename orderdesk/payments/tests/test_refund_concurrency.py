from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections

from orderdesk.orders.events import Actor
from orderdesk.orders.models import OrderStatus
from orderdesk.payments.models import Refund, RefundStatus
from orderdesk.payments.refunds import RefundError, RefundRequest, refund_order
from orderdesk.testing import factories
from orderdesk.testing.factories import World
from orderdesk.testing.fake_providers import FakeProvider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_ten_staff_refunding_the_same_product_at_once_refund_it_once(fake: FakeProvider) -> None:
    world = factories.world()
    order = factories.order(world, add_ons=(world.bump,))
    course = order.lines.order_by("position")[0]
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def staff_member() -> None:
        try:
            start.wait()
            answer = refund_order(
                order,
                RefundRequest(amounts={course.pk: course.total_minor}, via_provider=True),
                actor=Actor.system(),
                idempotency_key=uuid.uuid4().hex,
            )
            outcomes.append(answer.refund.status)
        except RefundError as error:
            outcomes.append(" ".join(error.field_errors.values()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=staff_member) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(RefundStatus.SUCCEEDED) == 1, outcomes
    assert all("At most €0.00" in o for o in outcomes if o != RefundStatus.SUCCEEDED)
    assert len(fake.calls) == 1
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    course.refresh_from_db()
    assert (order.status, order.refunded_minor, course.refunded_minor) == (
        OrderStatus.PARTIALLY_REFUNDED,
        7900,
        7900,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_double_click_racing_itself_refunds_once(fake: FakeProvider) -> None:
    world = factories.world()
    order = factories.order(world)
    line = order.lines.get()
    form_key = uuid.uuid4().hex
    start = threading.Barrier(5)
    ids: list[int] = []

    def click() -> None:
        try:
            start.wait()
            ids.append(
                refund_order(
                    order,
                    RefundRequest(amounts={line.pk: 1000}, via_provider=True),
                    actor=Actor.system(),
                    idempotency_key=form_key,
                ).refund.pk
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 5
    assert len(set(ids)) == 1
    assert len(fake.calls) == 1
    order.refresh_from_db()
    assert order.refunded_minor == 1000


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_ten_parallel_refund_requests_refund_once_at_stripe(sandboxed: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from django.conf import settings
    from django.test import Client

    from orderdesk.payments.tests.test_stripe_sandbox import paid_by_stripe
    from orderdesk.sandboxes import store

    order, attempt, _ = paid_by_stripe(sandboxed)
    line = order.lines.get()
    staff = Client()
    staff.force_login(sandboxed.sam)
    csrf = "c" * 32
    cookies = {"sessionid": staff.cookies["sessionid"].value, "csrftoken": csrf}
    url = f"{settings.SITE_URL}/orders/{order.number}/refund/"

    def submit(_: int) -> tuple[int, str]:
        response = httpx.post(
            url,
            data={"key": uuid.uuid4().hex, "refund_payments": "on", f"amount_{line.pk}": "79.00"},
            headers={"HX-Request": "true", "X-CSRFToken": csrf},
            cookies=cookies,
            timeout=30,
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(submit, range(10)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [400] * 9, [text[:300] for _, text in answers]
    assert sum("succeeded through Stripe" in text for _, text in answers) == 1
    assert len(store.find("stripe", "refund", payment_intent=attempt.provider_reference)) == 1
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_minor) == (OrderStatus.REFUNDED, 7900)
