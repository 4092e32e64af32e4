"""The load: orders drawn one after another from one random source and written in batches."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count

from orderdesk.catalog.models import DiscountCode
from orderdesk.demo import people
from orderdesk.demo.bulk import BulkWriter
from orderdesk.demo.generator import actions, sales
from orderdesk.demo.generator.draft import OrderDraft
from orderdesk.demo.generator.fulfilment import Fulfilment
from orderdesk.demo.generator.payments import Payments
from orderdesk.demo.generator.refunds import Booking
from orderdesk.demo.generator.tables import Tables
from orderdesk.orders.events import EventType
from orderdesk.orders.models import ActorType, Order, OrderStatus
from orderdesk.orders.numbers import reserve_numbers
from orderdesk.organizations.models import Checkout

ProgressReport = Callable[[str], None]


@dataclass(frozen=True)
class GenerationResult:
    orders: int
    rows: dict[str, int]
    seconds: float


class OrderGenerator:
    def __init__(
        self,
        checkouts: Sequence[Checkout],
        *,
        seed: int,
        now: dt.datetime,
        months: int = 13,
        using: str = "default",
    ) -> None:
        if not checkouts:
            raise ValueError("Nothing to generate orders for: no checkouts given")
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - dt.timedelta(days=round(months * 30.44))
        self.writer = BulkWriter(using)
        self.plans = [sales.plan_checkout(checkout) for checkout in checkouts]
        self.plan_table = sales.weighted(sales.CHECKOUT_WEIGHTS, len(self.plans))
        self.customer_pool = 50
        self.pricing = sales.Pricing()
        self.staff: dict[int, sales.Staff] = {}
        for plan in self.plans:
            self.staff.setdefault(plan.checkout.organization_id, sales.staff_of(plan.checkout))
        self.tables = Tables(self.writer)
        self.payments = Payments(self.rng, self.writer, now)
        self.fulfilment = Fulfilment(self.rng, now)
        self.booking = Booking(self.rng, self.writer)

    def generate(
        self,
        count: int,
        *,
        batch_size: int = 5000,
        drop_indexes: bool = False,
        progress: ProgressReport | None = None,
    ) -> GenerationResult:
        """Write `count` orders; `drop_indexes` rebuilds PostgreSQL indexes after the load."""
        began = time.monotonic()
        # Roughly one in four orders comes from a returning customer.
        self.customer_pool = max(50, count * 3 // 4)
        numbers = self._reserve_numbers(count)
        span = (self.now - self.start).total_seconds()
        with self._loading(drop_indexes, progress):
            done = 0
            while done < count:
                size = min(batch_size, count - done)
                with transaction.atomic(using=self.writer.using):
                    for i in range(done, done + size):
                        # Denser towards now: the merchant grows over the period.
                        x = (i + self.rng.random()) / count
                        created = self.start + dt.timedelta(seconds=span * x**0.8)
                        self._order(created, numbers)
                    self.writer.flush()
                done += size
                if progress:
                    seconds = time.monotonic() - began
                    progress(f"{done:>10,} orders  {seconds:8.1f} s  {done / seconds:8,.0f}/s")
        self._count_code_usage()
        rows = {model.__name__: n for model, n in self.writer.written.items()}
        return GenerationResult(orders=count, rows=rows, seconds=time.monotonic() - began)

    # -- one order -------------------------------------------------------------------------

    def _order(self, created: dt.datetime, numbers: dict[int, int]) -> None:
        """Draw one order's story step by step, in an order the seed's draws depend on."""
        order = self._sale(created, numbers)
        pay_at = self._checkout(order)
        self.payments.pay(order, pay_at)
        order.lines = sales.line_rows(self.rng, self.writer, order.id, order.quote)
        actions.take_snapshots(order, self.writer)
        if order.paid_at is not None:
            self.fulfilment.after_payment(order, order.paid_at)
        self.booking.book(order)
        if order.billing_at is not None:
            order.details = sales.draw_details(self.rng, order.customer)
        self.tables.add(order, self.now)

    def _sale(self, created: dt.datetime, numbers: dict[int, int]) -> OrderDraft:
        """Who buys what through which link, and where the order is meant to end up."""
        rng = self.rng
        plan = self.plans[self.plan_table[rng.randrange(len(self.plan_table))]]
        link = plan.links[plan.link_table[rng.randrange(len(plan.link_table))]]
        offer = link.offer
        customer = people.customer(rng.randrange(1, self.customer_pool))
        currency = sales.currency_for(customer, offer)
        add_ons = sales.draw_add_ons(rng, plan, offer, currency)
        code = sales.draw_code(rng, plan, self.pricing, offer, currency, created)
        quote = self.pricing.quote(offer, currency, add_ons, code)
        status = sales.draw_outcome(rng)
        order_id = self.writer.new_id(Order)
        org_id = plan.checkout.organization_id
        number = numbers[org_id]
        numbers[org_id] = number + 1
        device, _, user_agent = people.DEVICES[
            people.DEVICE_TABLE[rng.randrange(len(people.DEVICE_TABLE))]
        ]
        return OrderDraft(
            id=order_id,
            number=number,
            created=created,
            plan=plan,
            link=link,
            customer=customer,
            currency=currency,
            code=code,
            quote=quote,
            status=status,
            device=device,
            user_agent=user_agent,
            staff=self.staff.get(org_id) or [(None, "staff")],
        )

    def _checkout(self, order: OrderDraft) -> dt.datetime:
        """The customer opens the checkout and saves billing details; returns when they pay.

        An order whose payment would start after `now` has not got past the first step.
        """
        rng = self.rng
        order.event(
            order.created, EventType.OPENED, "Checkout opened", ActorType.CUSTOMER, "Customer"
        )
        billing_at = order.created + dt.timedelta(seconds=rng.randint(40, 480))
        pay_at = billing_at + dt.timedelta(seconds=rng.randint(10, 90))
        if pay_at > self.now:
            order.status = OrderStatus.STARTED
        if order.status != OrderStatus.STARTED:
            order.billing_at = billing_at
            order.event(
                billing_at,
                EventType.BILLING_SAVED,
                "Billing details saved",
                ActorType.CUSTOMER,
                "Customer",
                '{"from": "started", "to": "in_progress"}',
            )
        return pay_at

    # -- around the load -------------------------------------------------------------------

    @contextlib.contextmanager
    def _loading(self, drop_indexes: bool, progress: ProgressReport | None) -> Iterator[None]:
        """Loading settings for the batches; afterwards the sequences and indexes are redone."""
        connection = self.writer.connection
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # A crash loses the last batches, never consistency; the load is redone anyway.
                cursor.execute("SET synchronous_commit TO off")
                if self._is_superuser(cursor):
                    # Skip per-row foreign key triggers: the rows are generated consistent,
                    # and checking a few million references row by row dominates the load.
                    cursor.execute("SET session_replication_role TO replica")
        definitions = self.writer.drop_indexes() if drop_indexes else []
        try:
            yield
        finally:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("RESET session_replication_role")
                    cursor.execute("RESET synchronous_commit")
            self.writer.reset_sequences()
            if definitions:
                if progress:
                    progress(f"rebuilding {len(definitions)} indexes")
                self.writer.create_indexes(definitions)

    @staticmethod
    def _is_superuser(cursor: Any) -> bool:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        return bool(row and row[0])

    def _reserve_numbers(self, count: int) -> dict[int, int]:
        """Take `count` order numbers from every organization involved; returns the first."""
        with transaction.atomic(using=self.writer.using):
            return {
                org_id: reserve_numbers(org_id, count)
                for org_id in {plan.checkout.organization_id for plan in self.plans}
            }

    def _count_code_usage(self) -> None:
        codes = [code.pk for plan in self.plans for code in plan.codes]
        used = (
            Order.objects.filter(discount_code_id__in=codes, status__in=OrderStatus.WAS_PAID)
            .values("discount_code_id")
            .annotate(n=Count("pk"))
        )
        for row in used:
            DiscountCode.objects.filter(pk=row["discount_code_id"]).update(times_used=row["n"])
