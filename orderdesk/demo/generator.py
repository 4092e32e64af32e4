"""Generate realistic orders in bulk for the demo and the benchmarks.

Every amount comes from `orders.pricing`: each distinct (offer, currency, add-ons, discount
code) combination is quoted once and the quote reused, so a million orders cost a few hundred
pricing calls. Rows are written with `bulk.BulkWriter` (COPY on PostgreSQL). The same seed,
catalog and `now` give the same orders.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, F

from orderdesk.actions.models import ActionRun, ActionSnapshot, RunStatus, SnapshotStatus
from orderdesk.catalog.models import (
    ActionConfig,
    ActionKind,
    ActionLevel,
    AddOn,
    AddOnEffect,
    AddOnKind,
    CheckoutLink,
    DiscountCode,
    Offer,
)
from orderdesk.demo import people
from orderdesk.demo.bulk import BulkWriter
from orderdesk.orders.events import EventType
from orderdesk.orders.models import (
    ActionHealth,
    ActorType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OrderTag,
)
from orderdesk.orders.pricing import PricingError, Quote, quote_offer
from orderdesk.organizations.models import (
    Checkout,
    CheckoutMembership,
    CheckoutRole,
    Membership,
    Organization,
    OrgRole,
)
from orderdesk.payments.models import (
    PaymentAttempt,
    PaymentStatus,
    Provider,
    Refund,
    RefundLine,
    RefundStatus,
)

S = OrderStatus
MINUTE = dt.timedelta(minutes=1)
ATTENTION_AFTER = dt.timedelta(minutes=10)

ORDER_COLUMNS = (
    "id", "organization_id", "checkout_id", "number", "link_id", "offer_id", "status",
    "action_health", "currency", "subtotal_minor", "discount_minor", "vat_minor", "total_minor",
    "refunded_minor", "customer_email", "first_name", "last_name", "phone", "address_line1",
    "postal_code", "city", "region", "country", "extra_fields", "analytics_consent", "source",
    "tags", "discount_code_id", "device_type", "user_agent", "created_at", "updated_at",
    "paid_at", "completed_at", "marked_completed_at",
)  # fmt: skip
TAG_COLUMNS = ("order_id", "checkout_id", "tag", "created_at")
LINE_COLUMNS = (
    "id", "order_id", "kind", "product_id", "add_on_id", "name", "position", "unit_price_minor",
    "quantity", "list_price_minor", "discount_minor", "vat_rate", "vat_minor", "total_minor",
    "refunded_minor", "stamp",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "order_id", "provider", "method", "status", "amount_minor", "currency",
    "refunded_minor", "stamp", "provider_reference", "failure_message", "created_at",
    "updated_at", "succeeded_at",
)  # fmt: skip
REFUND_COLUMNS = (
    "id", "order_id", "payment_attempt_id", "status", "origin", "amount_minor", "currency",
    "via_provider", "reason", "recorded_only_reason", "idempotency_key", "provider_reference",
    "failure_message", "remove_offer_access", "created_by_id", "created_at", "settled_at",
    "reversed_at",
)  # fmt: skip
REFUND_LINE_COLUMNS = ("refund_id", "order_line_id", "amount_minor", "remove_access")
SNAPSHOT_COLUMNS = (
    "id", "order_id", "config_id", "config_version", "level", "kind", "product_id", "name",
    "settings", "status", "attempts", "last_error", "last_run_at", "succeeded_at", "position",
)  # fmt: skip
RUN_COLUMNS = (
    "snapshot_id", "attempt", "status", "run_after", "started_at", "finished_at",
    "http_status", "error_message", "triggered_by_id", "created_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "order_id", "type", "message", "data", "actor_type", "actor_user_id", "actor_label",
    "created_at",
)  # fmt: skip

# (provider, weight) per currency; Paytrail and Epassi take euros only.
PROVIDERS = {
    "EUR": ((Provider.STRIPE, 45), (Provider.PAYTRAIL, 36), (Provider.EPASSI, 8), (Provider.MANUAL, 11)),
    "OTHER": ((Provider.STRIPE, 88), (Provider.MANUAL, 12)),
}  # fmt: skip
METHODS = {
    Provider.STRIPE: (("card", 55), ("apple_pay", 24), ("google_pay", 10), ("mobilepay", 8), ("klarna", 3)),
    Provider.PAYTRAIL: (
        ("osuuspankki", 28), ("nordea", 22), ("mobilepay", 14), ("danske", 7), ("card", 7),
        ("spankki", 5), ("aktia", 5), ("pop", 4), ("saastopankki", 3), ("siirto", 3), ("walleyb2c", 2),
    ),
    Provider.EPASSI: (("epassi", 1),),
    Provider.MANUAL: (("invoice", 8), ("bank_transfer", 2)),
}  # fmt: skip
PAYMENT_FAILURES = {
    Provider.STRIPE: (
        "Your card was declined.",
        "Your card has insufficient funds.",
        "Your card's security code is incorrect.",
        "The customer did not complete 3D Secure authentication.",
    ),
    Provider.PAYTRAIL: ("Payment cancelled by the customer.", "The bank rejected the payment."),
    Provider.EPASSI: ("Insufficient Epassi benefit balance.", "Payment cancelled in Epassi."),
    Provider.MANUAL: ("Invoice cancelled: no payment by the due date.",),
}
ACTION_ERRORS = {
    ActionKind.KAJABI_GRANT: (
        "422 Email: is invalid",
        "422 Name: can't be blank",
        "404 Base: not found",
        "500 Internal Server Error",
        "502 Bad Gateway",
        "Timed out after 15 s",
    ),
    ActionKind.WEBHOOK: (
        "500 Internal Server Error",
        "503 Service Unavailable",
        "404 Not Found",
        "Timed out after 15 s",
        "Connection refused",
    ),
    ActionKind.SEND_RECEIPT: (
        "SMTP 550 5.1.1 Mailbox does not exist",
        "SMTP 421 4.7.0 Try again later",
    ),
    ActionKind.CUSTOM_EMAIL: ("SMTP 550 5.1.1 Mailbox does not exist", "Connection refused"),
}
REFUND_FAILURES = {
    Provider.STRIPE: (
        "Charge ch_3QX is disputed: a refund cannot be created while the dispute is open.",
        "Request to Stripe timed out after 15 s",
    ),
    Provider.PAYTRAIL: (
        "400 Something went wrong",
        "Nordea API allows to refund only once per payment, and only for payments created "
        "less than 13 weeks ago.",
    ),
    Provider.EPASSI: ('{"status": "error", "message": "Payment already settled"}',),
}
HEARD_ABOUT = ("Instagram", "A friend", "Google", "Newsletter", "Podcast", "TikTok")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(B62[digit])
    return "".join(chars)


@functools.cache
def _cumulative(weighted: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [value for value, _ in weighted], list(itertools.accumulate(w for _, w in weighted))


def _staff(checkout: Checkout) -> list[tuple[int | None, str]]:
    """The people who may complete and refund this checkout's orders (not viewers)."""
    owners = Membership.objects.filter(
        organization_id=checkout.organization_id, role__in=[OrgRole.OWNER, OrgRole.ADMIN]
    ).values_list("user_id", "user__email")
    members = CheckoutMembership.objects.filter(
        checkout=checkout,
        role__in=[CheckoutRole.ADMIN, CheckoutRole.MAINTAINER, CheckoutRole.CUSTOMER_SERVICE],
    ).values_list("user_id", "user__email")
    return sorted({*owners, *members})


def _http_status(message: str) -> int | None:
    head = message.split(" ", 1)[0]
    return int(head) if head.isdigit() and len(head) == 3 else None


@dataclass
class _LinkPlan:
    link: CheckoutLink
    offer: Offer
    tags_json: str


@dataclass
class _CheckoutPlan:
    checkout: Checkout
    links: list[_LinkPlan]
    link_table: list[int]
    add_ons: dict[int, list[AddOn]]
    add_on_currencies: dict[int, set[str]]
    codes: list[DiscountCode]
    configs_checkout: list[ActionConfig]
    configs_offer: dict[int, list[ActionConfig]]
    configs_product: dict[int, list[ActionConfig]]


@dataclass
class _Snapshot:
    id: int
    config: ActionConfig
    product_id: int | None
    status: str = SnapshotStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    last_run_at: dt.datetime | None = None
    succeeded_at: dt.datetime | None = None
    runs: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class GenerationResult:
    orders: int
    rows: dict[str, int]
    seconds: float


# Link weights: ads and email bring most orders; the first links of each checkout are its biggest.
LINK_WEIGHTS = (9, 6, 5, 4, 3, 3, 2, 2, 1)
CHECKOUT_WEIGHTS = (7, 3)


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
        self.plans = [self._plan(checkout) for checkout in checkouts]
        self.plan_table = people.weighted_table(
            [
                CHECKOUT_WEIGHTS[i] if i < len(CHECKOUT_WEIGHTS) else 1
                for i in range(len(self.plans))
            ]
        )
        self.customer_pool = 50
        self.quotes: dict[tuple[int, str, tuple[int, ...], int | None], Quote] = {}
        self.code_fits: dict[tuple[int, str, int], bool] = {}
        self.settings_json: dict[int, str] = {}
        self.staff: dict[int, list[tuple[int | None, str]]] = {}
        for plan in self.plans:
            self.staff.setdefault(plan.checkout.organization_id, _staff(plan.checkout))
        w = self.writer
        self.t_order = w.table(Order, ORDER_COLUMNS)
        self.t_tag = w.table(OrderTag, TAG_COLUMNS)
        self.t_line = w.table(OrderLine, LINE_COLUMNS)
        self.t_attempt = w.table(PaymentAttempt, ATTEMPT_COLUMNS)
        self.t_refund = w.table(Refund, REFUND_COLUMNS)
        self.t_refund_line = w.table(RefundLine, REFUND_LINE_COLUMNS)
        self.t_snapshot = w.table(ActionSnapshot, SNAPSHOT_COLUMNS)
        self.t_run = w.table(ActionRun, RUN_COLUMNS)
        self.t_event = w.table(OrderEvent, EVENT_COLUMNS)

    # -- catalog -------------------------------------------------------------------------

    def _plan(self, checkout: Checkout) -> _CheckoutPlan:
        links = [
            _LinkPlan(link=link, offer=link.offer, tags_json=json.dumps(link.tags))
            for link in CheckoutLink.objects.filter(checkout=checkout, is_active=True)
            .select_related("offer")
            .order_by("pk")
        ]
        if not links:
            raise ValueError(
                f"Checkout {checkout.slug} has no active checkout links to sell through"
            )
        add_ons: dict[int, list[AddOn]] = {}
        for add_on in (
            AddOn.objects.filter(offer__checkout=checkout)
            .select_related("product")
            .prefetch_related("product__prices")
            .order_by("pk")
        ):
            add_ons.setdefault(add_on.offer_id, []).append(add_on)
        configs = list(
            ActionConfig.objects.filter(checkout=checkout, is_active=True).order_by("pk")
        )
        configs_offer: dict[int, list[ActionConfig]] = {}
        configs_product: dict[int, list[ActionConfig]] = {}
        for config in configs:
            if config.level == ActionLevel.OFFER and config.offer_id:
                configs_offer.setdefault(config.offer_id, []).append(config)
            elif config.level == ActionLevel.PRODUCT and config.product_id:
                configs_product.setdefault(config.product_id, []).append(config)
        return _CheckoutPlan(
            checkout=checkout,
            links=links,
            link_table=people.weighted_table(
                [LINK_WEIGHTS[i] if i < len(LINK_WEIGHTS) else 1 for i in range(len(links))]
            ),
            add_ons=add_ons,
            add_on_currencies={
                add_on.pk: {p.currency for p in add_on.product.prices.all()}
                | set(add_on.price_overrides)
                for offer_add_ons in add_ons.values()
                for add_on in offer_add_ons
            },
            codes=list(
                DiscountCode.objects.filter(checkout=checkout, is_active=True)
                .prefetch_related("products")
                .order_by("pk")
            ),
            configs_checkout=[c for c in configs if c.level == ActionLevel.CHECKOUT],
            configs_offer=configs_offer,
            configs_product=configs_product,
        )

    def _quote(
        self, offer: Offer, currency: str, add_ons: list[AddOn], code: DiscountCode | None
    ) -> Quote:
        key = (offer.pk, currency, tuple(a.pk for a in add_ons), code.pk if code else None)
        quote = self.quotes.get(key)
        if quote is None:
            quote = quote_offer(offer, currency, add_ons=add_ons, discount_code=code)
            self.quotes[key] = quote
        return quote

    def _code_fits(self, offer: Offer, currency: str, code: DiscountCode) -> bool:
        """Whether the code takes something off this offer (it may be restricted to products)."""
        key = (offer.pk, currency, code.pk)
        if key not in self.code_fits:
            try:
                quote = self._quote(offer, currency, [], code)
                # A code that makes the order free would leave nothing to pay or refund.
                fits = quote.discount_minor > 0 and quote.total_minor > 0
            except PricingError:
                fits = False
            self.code_fits[key] = fits
        return self.code_fits[key]

    def _settings(self, config: ActionConfig) -> str:
        if config.pk not in self.settings_json:
            self.settings_json[config.pk] = json.dumps(config.settings)
        return self.settings_json[config.pk]

    # -- generation ----------------------------------------------------------------------

    def generate(
        self,
        count: int,
        *,
        batch_size: int = 5000,
        drop_indexes: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> GenerationResult:
        """Write `count` orders; `drop_indexes` rebuilds PostgreSQL indexes after the load."""
        began = time.monotonic()
        # Roughly one in four orders comes from a returning customer.
        self.customer_pool = max(50, count * 3 // 4)
        numbers = self._reserve_numbers(count)
        span = (self.now - self.start).total_seconds()
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
        self._count_code_usage()
        rows = {model.__name__: n for model, n in self.writer.written.items()}
        return GenerationResult(orders=count, rows=rows, seconds=time.monotonic() - began)

    @staticmethod
    def _is_superuser(cursor: Any) -> bool:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        return bool(row and row[0])

    def _reserve_numbers(self, count: int) -> dict[int, int]:
        """Take `count` order numbers from every organization involved; returns the next free."""
        numbers: dict[int, int] = {}
        with transaction.atomic(using=self.writer.using):
            for org_id in {plan.checkout.organization_id for plan in self.plans}:
                org = Organization.objects.select_for_update().get(pk=org_id)
                numbers[org_id] = org.last_order_number + 1
                Organization.objects.filter(pk=org_id).update(
                    last_order_number=F("last_order_number") + count
                )
        return numbers

    def _count_code_usage(self) -> None:
        codes = [code.pk for plan in self.plans for code in plan.codes]
        used = (
            Order.objects.filter(discount_code_id__in=codes, status__in=OrderStatus.WAS_PAID)
            .values("discount_code_id")
            .annotate(n=Count("pk"))
        )
        for row in used:
            DiscountCode.objects.filter(pk=row["discount_code_id"]).update(times_used=row["n"])

    def _pick(self, weighted: Sequence[tuple[Any, int]]) -> Any:
        values, cumulative = _cumulative(weighted)
        return self.rng.choices(values, cum_weights=cumulative)[0]

    def _order(self, created: dt.datetime, numbers: dict[int, int]) -> None:
        rng = self.rng
        w = self.writer
        plan = self.plans[self.plan_table[rng.randrange(len(self.plan_table))]]
        checkout = plan.checkout
        link_plan = plan.links[plan.link_table[rng.randrange(len(plan.link_table))]]
        offer = link_plan.offer
        customer = people.customer(rng.randrange(1, self.customer_pool))
        currency = customer.country.currency
        if offer.currencies and currency not in offer.currencies:
            currency = "EUR" if "EUR" in offer.currencies else offer.currencies[0]

        chosen: list[AddOn] = []
        for add_on in plan.add_ons.get(offer.pk, ()):
            if add_on.effect == AddOnEffect.UPGRADE:
                chance = 0.10
            elif add_on.kind == AddOnKind.ORDER_BUMP:
                chance = 0.30
            else:
                chance = 0.15
            if rng.random() < chance and currency in plan.add_on_currencies[add_on.pk]:
                chosen.append(add_on)
        code = None
        if plan.codes and rng.random() < 0.12:
            candidate = plan.codes[rng.randrange(len(plan.codes))]
            in_dates = (candidate.valid_from is None or created >= candidate.valid_from) and (
                candidate.valid_until is None or created <= candidate.valid_until
            )
            if in_dates and self._code_fits(offer, currency, candidate):
                code = candidate
        quote = self._quote(offer, currency, chosen, code)

        # Where the order ended up.
        r = rng.random()
        if r < 0.16:
            status = S.STARTED
        elif r < 0.23:
            status = S.IN_PROGRESS
        elif r < 0.245:
            status = S.PROCESSING
        else:
            r = rng.random()
            if r < 0.04:
                status = S.REFUNDED
            elif r < 0.065:
                status = S.PARTIALLY_REFUNDED
            elif r < 0.10:
                status = S.MARKED_COMPLETED
            elif r < 0.1025:
                status = S.PAID
            else:
                status = S.COMPLETED

        order_id = w.new_id(Order)
        org_id = checkout.organization_id
        number = numbers[org_id]
        numbers[org_id] = number + 1
        device, _, user_agent = people.DEVICES[
            people.DEVICE_TABLE[rng.randrange(len(people.DEVICE_TABLE))]
        ]
        events: list[tuple[Any, ...]] = []

        def event(
            at: dt.datetime,
            type: str,
            message: str,
            actor: str,
            label: str,
            data: str = "{}",
            user_id: int | None = None,
        ) -> None:
            events.append((order_id, type, message, data, actor, user_id, label, at))

        event(created, EventType.OPENED, "Checkout opened", ActorType.CUSTOMER, "Customer")

        billing_at = created + dt.timedelta(seconds=rng.randint(40, 480))
        pay_at = billing_at + dt.timedelta(seconds=rng.randint(10, 90))
        if pay_at > self.now:
            status = S.STARTED
        has_billing = status != S.STARTED
        if has_billing:
            event(
                billing_at,
                EventType.BILLING_SAVED,
                "Billing details saved",
                ActorType.CUSTOMER,
                "Customer",
                '{"from": "started", "to": "in_progress"}',
            )

        # Payment attempts.
        provider = self._pick(PROVIDERS["EUR" if currency == "EUR" else "OTHER"])
        method = self._pick(METHODS[provider])
        attempts: list[list[Any]] = []
        paid = status in OrderStatus.WAS_PAID
        failed_first = (paid and rng.random() < 0.08) or (
            status == S.IN_PROGRESS and rng.random() < 0.35
        )
        at = pay_at
        if failed_first:
            failed_status = PaymentStatus.FAILED if rng.random() < 0.7 else PaymentStatus.CANCELLED
            message = rng.choice(PAYMENT_FAILURES[provider])
            attempts.append(
                self._attempt(
                    order_id,
                    provider,
                    method,
                    failed_status,
                    quote.total_minor,
                    currency,
                    at,
                    message,
                )
            )
            event(
                at,
                EventType.PAYMENT_STARTED,
                f"Payment started: {Provider(provider).label} {method}",
                ActorType.CUSTOMER,
                "Customer",
            )
            event(
                at + dt.timedelta(seconds=25),
                EventType.PAYMENT_FAILED,
                message,
                ActorType.PROVIDER,
                Provider(provider).label,
                '{"from": "processing", "to": "in_progress"}',
            )
            at = at + dt.timedelta(seconds=rng.randint(60, 240))
            if rng.random() < 0.5:
                provider = self._pick(PROVIDERS["EUR" if currency == "EUR" else "OTHER"])
                method = self._pick(METHODS[provider])
        paid_at = at + dt.timedelta(seconds=rng.randint(5, 60)) if paid else None
        if paid_at is not None and paid_at > self.now:
            status, paid, paid_at = S.PROCESSING, False, None
        if status in (S.PROCESSING, *OrderStatus.WAS_PAID):
            attempt_status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING
            attempts.append(
                self._attempt(
                    order_id,
                    provider,
                    method,
                    attempt_status,
                    quote.total_minor,
                    currency,
                    at,
                    "",
                    paid_at,
                )
            )
            event(
                at,
                EventType.PAYMENT_STARTED,
                f"Payment started: {Provider(provider).label} {method}",
                ActorType.CUSTOMER,
                "Customer",
                '{"from": "in_progress", "to": "processing"}',
            )
        if paid_at is not None:
            event(
                paid_at,
                EventType.PAYMENT_SUCCEEDED,
                "Payment succeeded",
                ActorType.PROVIDER,
                Provider(provider).label,
                '{"from": "processing", "to": "paid"}',
            )

        # Lines.
        line_ids: list[int] = []
        line_rows: list[list[Any]] = []
        for position, line in enumerate(quote.lines):
            line_id = w.new_id(OrderLine)
            line_ids.append(line_id)
            item = line.input
            line_rows.append(
                [
                    line_id, order_id, item.kind, item.product_id, item.add_on_id, item.name,
                    position, item.unit_price_minor, item.quantity,
                    item.list_price_minor or item.unit_price_minor, line.discount_minor,
                    item.vat_rate, line.vat_minor, line.total_minor, 0,
                    uuid.UUID(int=(rng.getrandbits(80) << 48) | line_id).hex,
                ]
            )  # fmt: skip

        # Post-purchase actions: snapshots taken when the order opened.
        snapshots: list[_Snapshot] = []
        seen_products: set[int] = set()
        configs: list[tuple[ActionConfig, int | None]] = [(c, None) for c in plan.configs_checkout]
        configs += [(c, None) for c in plan.configs_offer.get(offer.pk, ())]
        for line in quote.lines:
            product_id = line.input.product_id
            if product_id is not None and product_id not in seen_products:
                seen_products.add(product_id)
                configs += [(c, product_id) for c in plan.configs_product.get(product_id, ())]
        for config, product_id in configs:
            snapshots.append(
                _Snapshot(id=w.new_id(ActionSnapshot), config=config, product_id=product_id)
            )

        health = ActionHealth.NONE
        completed_at = marked_at = None
        staff = self.staff.get(org_id) or [(None, "staff")]
        refunds: list[dict[str, Any]] = []
        updated = max([created, billing_at if has_billing else created, *(a[11] for a in attempts)])
        if paid_at is not None:
            fresh = self.now - paid_at < ATTENTION_AFTER
            for snapshot in snapshots:
                done_at = paid_at + dt.timedelta(seconds=rng.randint(2, 40))
                snapshot.status, snapshot.attempts = SnapshotStatus.SUCCEEDED, 1
                snapshot.last_run_at = snapshot.succeeded_at = min(done_at, self.now)
            failing = self._failing_snapshot(snapshots)
            if fresh:
                status = S.PAID
                if not snapshots:
                    status = S.COMPLETED
                else:
                    health = ActionHealth.PENDING
                    for snapshot in snapshots[rng.randrange(len(snapshots)) :]:
                        snapshot.status, snapshot.attempts = SnapshotStatus.PENDING, 0
                        snapshot.last_run_at = snapshot.succeeded_at = None
            elif not snapshots:
                status = S.COMPLETED if status == S.PAID else status
            elif status == S.PAID and failing is not None:
                if rng.random() < 0.8:
                    health = ActionHealth.FAILED
                    self._fail(failing, paid_at, attempts=rng.randint(3, 5))
                else:
                    health = ActionHealth.PENDING
                    failing.status, failing.attempts = SnapshotStatus.PENDING, 0
                    failing.last_run_at = failing.succeeded_at = None
            else:
                health = ActionHealth.SUCCEEDED
                if failing is not None and rng.random() < 0.02:
                    self._fail(failing, paid_at, attempts=1, recovered=True)
            if status == S.PAID and health == ActionHealth.SUCCEEDED:
                status = S.COMPLETED
            if status != S.PAID:
                completed_at = paid_at + dt.timedelta(seconds=rng.randint(3, 45))
                event(
                    completed_at,
                    EventType.COMPLETED,
                    "All post-purchase actions succeeded",
                    ActorType.SYSTEM,
                    "System",
                    '{"from": "paid", "to": "completed"}',
                )
            for snapshot in snapshots:
                if snapshot.status == SnapshotStatus.FAILED:
                    event(
                        snapshot.last_run_at or paid_at,
                        EventType.ACTION_FAILED,
                        f"{snapshot.config.name or snapshot.config.get_kind_display()} failed: {snapshot.last_error}",
                        ActorType.SYSTEM,
                        "System",
                    )

            later = self.now - paid_at
            if status == S.MARKED_COMPLETED:
                if later < dt.timedelta(hours=1):
                    status = S.COMPLETED
                else:
                    user_id, email = staff[rng.randrange(len(staff))]
                    marked_at = paid_at + dt.timedelta(
                        seconds=rng.randint(3600, int(min(later.total_seconds(), 10 * 86400)))
                    )
                    completed_at = marked_at
                    if failing is not None:
                        if rng.random() < 0.12:
                            health = ActionHealth.FAILED
                            self._fail(failing, paid_at, attempts=rng.randint(3, 5))
                        else:
                            self._fail(
                                failing,
                                paid_at,
                                attempts=3,
                                recovered=True,
                                rerun_at=marked_at,
                                rerun_by=user_id,
                            )
                    event(
                        marked_at,
                        EventType.MARKED_COMPLETED,
                        "Marked as completed",
                        ActorType.USER,
                        email,
                        '{"from": "completed", "to": "marked_completed"}',
                        user_id,
                    )
                    if rng.random() < 0.15:
                        refunds.append(
                            self._refund_all(
                                order_id,
                                quote,
                                line_ids,
                                paid_at,
                                marked_at,
                                staff,
                                reversed_at=marked_at,
                            )
                        )
            elif status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
                if later < dt.timedelta(minutes=30):
                    status = S.COMPLETED
                else:
                    refund_at = paid_at + dt.timedelta(
                        seconds=rng.randint(900, int(min(later.total_seconds() - 60, 30 * 86400)))
                    )
                    if status == S.REFUNDED:
                        refunds.append(
                            self._refund_all(order_id, quote, line_ids, paid_at, refund_at, staff)
                        )
                    else:
                        refunds.append(
                            self._refund_part(order_id, quote, line_ids, refund_at, staff)
                        )
                        if failing is not None and rng.random() < 0.05:
                            health = ActionHealth.FAILED
                            self._fail(failing, paid_at, attempts=3)
                    if status == S.REFUNDED and rng.random() < 0.5:
                        for snapshot in snapshots:
                            if (
                                snapshot.config.kind == ActionKind.KAJABI_GRANT
                                and snapshot.status == SnapshotStatus.SUCCEEDED
                            ):
                                snapshot.status = SnapshotStatus.REVOKED
                                snapshot.last_run_at = refund_at + dt.timedelta(seconds=4)
            elif (
                status == S.COMPLETED
                and provider in REFUND_FAILURES
                and later > dt.timedelta(days=1)
                and rng.random() < 0.004
            ):
                refund_at = paid_at + dt.timedelta(
                    seconds=rng.randint(3600, int(min(later.total_seconds() - 60, 20 * 86400)))
                )
                failure = self._refund_all(order_id, quote, line_ids, paid_at, refund_at, staff)
                failure["status"] = RefundStatus.FAILED
                failure["failure_message"] = rng.choice(REFUND_FAILURES[provider])
                refunds.append(failure)

        # Refunds: money back per line, on the order and on the paying attempt.
        refunded_total = 0
        refunded_lines = [0] * len(line_rows)
        paying = attempts[-1] if attempts and paid_at is not None else None
        for refund in refunds:
            refund_id = w.new_id(Refund)
            refund["id"] = refund_id
            kept = refund["status"] in RefundStatus.BOOKED
            amount = 0
            for index, line_amount, remove_access in refund["lines"]:
                self.t_refund_line.rows.append(
                    (refund_id, line_ids[index], line_amount, remove_access)
                )
                amount += line_amount
                if kept:
                    refunded_lines[index] += line_amount
            if kept:
                refunded_total += amount
            refund_status = refund["status"]
            if refund_status == RefundStatus.FAILED:
                via_provider, reason = True, ""
            else:
                via_provider, reason = self._refund_channel(
                    provider, full=amount == quote.total_minor
                )
            if refund_status == RefundStatus.SUCCEEDED and not via_provider:
                refund_status = RefundStatus.RECORDED
            user_id, email = refund["by"]
            at = refund["at"]
            reference = ""
            if refund_status == RefundStatus.SUCCEEDED or (
                refund_status == RefundStatus.REVERSED and via_provider
            ):
                reference = self._refund_reference(provider, refund_id)
            self.t_refund.rows.append(
                (
                    refund_id, order_id, paying[0] if paying else None, refund_status, "orderdesk",
                    amount, currency, via_provider, refund.get("reason", ""),
                    "" if refund_status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED) else reason,
                    f"refund-{refund_id}", reference, refund.get("failure_message", ""),
                    refund.get("remove_offer_access", False), user_id, at,
                    None if refund_status == RefundStatus.FAILED else at + dt.timedelta(seconds=2),
                    refund.get("reversed_at"),
                )
            )  # fmt: skip
            label = {
                RefundStatus.SUCCEEDED: (EventType.REFUND_SUCCEEDED, "Refund succeeded"),
                RefundStatus.RECORDED: (EventType.REFUND_RECORDED, "Refund recorded"),
                RefundStatus.FAILED: (EventType.REFUND_FAILED, "Refund failed"),
                RefundStatus.REVERSED: (EventType.REFUND_SUCCEEDED, "Refund succeeded"),
            }[refund_status]
            money = f"{amount / 100:.2f} {currency}"
            message = f"{label[1]}: {money}"
            if refund_status == RefundStatus.FAILED:
                message += f" — {refund['failure_message']}"
            event(
                at,
                label[0],
                message,
                ActorType.USER,
                email,
                json.dumps({"refund": refund_id, "amount_minor": amount}),
                user_id,
            )
            if refund_status == RefundStatus.REVERSED:
                event(
                    refund["reversed_at"],
                    EventType.REFUNDS_REVERSED,
                    "Refunded data restored",
                    ActorType.USER,
                    email,
                    "{}",
                    user_id,
                )
            elif kept:
                to = "refunded" if refunded_total == quote.total_minor else "partially_refunded"
                event(
                    at,
                    EventType.STATUS_CHANGED,
                    "Refunded" if to == "refunded" else "Partially refunded",
                    ActorType.USER,
                    email,
                    json.dumps({"from": "completed", "to": to, "refunded_minor": refunded_total}),
                    user_id,
                )
            updated = max(updated, refund.get("reversed_at") or at)
        if refunded_total:
            status = S.REFUNDED if refunded_total == quote.total_minor else S.PARTIALLY_REFUNDED
        if paying is not None and refunded_total:
            paying[4] = (
                PaymentStatus.REFUNDED
                if refunded_total == paying[5]
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            paying[7] = refunded_total
        for row, refunded in zip(line_rows, refunded_lines, strict=True):
            row[14] = refunded

        # Customer details.
        if has_billing:
            extra = (
                json.dumps({"How did you hear about us?": rng.choice(HEARD_ABOUT)})
                if rng.random() < 0.3
                else "{}"
            )
            consent_roll = rng.random()
            consent = True if consent_roll < 0.62 else (False if consent_roll < 0.92 else None)
            details = (
                customer.email, customer.first_name, customer.last_name, customer.phone,
                f"{rng.choice(('Main', 'Park', 'Lake', 'Mill', 'Forest'))} Street {rng.randint(1, 120)}",
                customer.postal_code, customer.city, customer.region, customer.country.code, extra, consent,
            )  # fmt: skip
        else:
            details = ("", "", "", "", "", "", "", "", "", "{}", None)
        for snapshot in snapshots:
            updated = max(updated, snapshot.last_run_at or created)
        updated = max(updated, completed_at or created, marked_at or created)

        self.t_order.rows.append(
            (
                order_id, org_id, checkout.pk, number, link_plan.link.pk, offer.pk, status, health,
                currency, quote.subtotal_minor, quote.discount_minor, quote.vat_minor,
                quote.total_minor, refunded_total, *details, link_plan.link.source,
                link_plan.tags_json, code.pk if code else None, device, user_agent, created,
                min(updated, self.now), paid_at, completed_at, marked_at,
            )
        )  # fmt: skip
        for tag in link_plan.link.tags:
            self.t_tag.rows.append((order_id, checkout.pk, tag, created))
        self.t_line.rows.extend(tuple(row) for row in line_rows)
        self.t_attempt.rows.extend(tuple(row) for row in attempts)
        for position, snapshot in enumerate(snapshots):
            config = snapshot.config
            self.t_snapshot.rows.append(
                (
                    snapshot.id, order_id, config.pk, config.version, config.level, config.kind,
                    snapshot.product_id, config.name, self._settings(config), snapshot.status,
                    snapshot.attempts, snapshot.last_error, snapshot.last_run_at,
                    snapshot.succeeded_at, position,
                )
            )  # fmt: skip
            self.t_run.rows.extend(snapshot.runs)
        self.t_event.rows.extend(events)

    def _attempt(
        self,
        order_id: int,
        provider: str,
        method: str,
        status: str,
        amount: int,
        currency: str,
        at: dt.datetime,
        failure: str,
        succeeded_at: dt.datetime | None = None,
    ) -> list[Any]:
        attempt_id = self.writer.new_id(PaymentAttempt)
        stamp = str(uuid.UUID(int=(self.rng.getrandbits(80) << 48) | attempt_id))
        if (
            status in (PaymentStatus.PENDING, PaymentStatus.CANCELLED)
            and provider == Provider.MANUAL
        ):
            reference = ""
        elif provider == Provider.STRIPE:
            reference = f"pi_3{_b62(self.rng.getrandbits(64), 11)}{_b62(attempt_id, 6)}"
        elif provider == Provider.PAYTRAIL:
            reference = str(uuid.UUID(int=(self.rng.getrandbits(88) << 40) | attempt_id))
        elif provider == Provider.EPASSI:
            reference = str(40_000_000 + attempt_id)
        else:
            reference = f"INV-{at.year}-{attempt_id:07d}"
        updated = succeeded_at or at + dt.timedelta(seconds=25)
        return [
            attempt_id, order_id, provider, method, status, amount, currency, 0, stamp, reference,
            failure, at, min(updated, self.now), succeeded_at,
        ]  # fmt: skip

    def _failing_snapshot(self, snapshots: list[_Snapshot]) -> _Snapshot | None:
        """The snapshot that fails when this order has a failing action: an outside call first."""
        outside = [
            s for s in snapshots if s.config.kind in (ActionKind.KAJABI_GRANT, ActionKind.WEBHOOK)
        ]
        pool = outside or snapshots
        return pool[self.rng.randrange(len(pool))] if pool else None

    def _fail(
        self,
        snapshot: _Snapshot,
        paid_at: dt.datetime,
        *,
        attempts: int,
        recovered: bool = False,
        rerun_at: dt.datetime | None = None,
        rerun_by: int | None = None,
    ) -> None:
        """Record failed runs with backoff; `recovered` adds the run that finally succeeded."""
        rng = self.rng
        message = rng.choice(ACTION_ERRORS[ActionKind(snapshot.config.kind)])
        at = paid_at + dt.timedelta(seconds=rng.randint(1, 5))
        snapshot.runs = []
        for attempt in range(1, attempts + 1):
            finished = at + dt.timedelta(
                seconds=15 if "Timed out" in message else rng.randint(1, 3)
            )
            snapshot.runs.append(
                (
                    snapshot.id,
                    attempt,
                    RunStatus.FAILED,
                    at,
                    at,
                    finished,
                    _http_status(message),
                    message,
                    None,
                    at,
                )
            )
            at = finished + MINUTE * (4 ** (attempt - 1))
        snapshot.attempts = attempts
        snapshot.last_run_at = snapshot.runs[-1][5]
        if recovered:
            at = rerun_at or at
            finished = at + dt.timedelta(seconds=rng.randint(1, 3))
            snapshot.runs.append(
                (
                    snapshot.id,
                    attempts + 1,
                    RunStatus.SUCCEEDED,
                    at,
                    at,
                    finished,
                    200 if snapshot.config.kind != ActionKind.SEND_RECEIPT else None,
                    "",
                    rerun_by,
                    at,
                )
            )
            snapshot.attempts += 1
            snapshot.status = SnapshotStatus.SUCCEEDED
            snapshot.last_run_at = snapshot.succeeded_at = finished
            snapshot.last_error = ""
        else:
            snapshot.status = SnapshotStatus.FAILED
            snapshot.last_error = message
            snapshot.succeeded_at = None

    def _refund_all(
        self,
        order_id: int,
        quote: Quote,
        line_ids: list[int],
        paid_at: dt.datetime,
        at: dt.datetime,
        staff: list[tuple[Any, str]],
        *,
        reversed_at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        remove = rng.random() < 0.5
        refund: dict[str, Any] = {
            "status": RefundStatus.REVERSED if reversed_at else RefundStatus.SUCCEEDED,
            "lines": [(i, line.total_minor, remove) for i, line in enumerate(quote.lines) if line.total_minor],
            "by": staff[rng.randrange(len(staff))],
            "at": at,
            "reason": rng.choice(("Customer changed their mind", "Bought by mistake", "Duplicate purchase", "")),
            "remove_offer_access": remove,
        }  # fmt: skip
        if reversed_at is not None:
            refund["at"] = max(
                paid_at + MINUTE, reversed_at - dt.timedelta(hours=rng.randint(1, 48))
            )
            refund["reversed_at"] = reversed_at
        return refund

    def _refund_part(
        self,
        order_id: int,
        quote: Quote,
        line_ids: list[int],
        at: dt.datetime,
        staff: list[tuple[Any, str]],
    ) -> dict[str, Any]:
        rng = self.rng
        extras = [
            i
            for i, line in enumerate(quote.lines)
            if line.input.kind != "main" and line.total_minor
        ]
        if extras and rng.random() < 0.7:
            index = rng.choice(extras)
            lines = [(index, quote.lines[index].total_minor, rng.random() < 0.5)]
        else:
            index = max(range(len(quote.lines)), key=lambda i: quote.lines[i].total_minor)
            share = rng.choice((0.2, 0.25, 0.5))
            lines = [(index, max(1, int(quote.lines[index].total_minor * share)), False)]
        if sum(amount for _, amount, _ in lines) >= quote.total_minor:
            lines = [(lines[0][0], max(1, quote.total_minor // 2), False)]
        return {
            "status": RefundStatus.SUCCEEDED,
            "lines": lines,
            "by": staff[rng.randrange(len(staff))],
            "at": at,
            "reason": rng.choice(("Partial refund agreed with customer", "Add-on not used", "")),
        }

    def _refund_channel(self, provider: str, *, full: bool) -> tuple[bool, str]:
        """Whether money moves through the provider, and why not when it does not (SPEC F5)."""
        if provider == Provider.MANUAL:
            return False, "Manual payments are refunded in the provider's own dashboard."
        if provider == Provider.EPASSI and not full:
            return False, (
                "Epassi cannot refund part of a payment through its API: funds were not returned; "
                "return them in Epassi's own service."
            )
        if self.rng.random() < 0.08:
            return False, "Refund payments was not selected: recorded only, no money moved."
        return True, ""

    def _refund_reference(self, provider: str, refund_id: int) -> str:
        if provider == Provider.STRIPE:
            return f"re_3{_b62(self.rng.getrandbits(64), 11)}{_b62(refund_id, 6)}"
        if provider == Provider.PAYTRAIL:
            return str(uuid.UUID(int=(self.rng.getrandbits(88) << 40) | refund_id))
        return f"R{50_000_000 + refund_id}"
