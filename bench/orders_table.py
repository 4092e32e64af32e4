"""Benchmark of Order Management on a big PostgreSQL database (not a test; see docs/benchmarks.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/orders_table.py

For each case it requests the orders page through Django's full request handler (middleware,
view, template) as a signed-in owner of the biggest checkout, and reports p50/p95 server time.
It then replays the exact SQL the view ran, straight on the database cursor, for the bare SQL
p95 and the ratio, and runs the same filter through Django's admin changelist of Order.
It never writes to the database: sessions live in signed cookies for the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

from django.contrib import admin  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.common import (  # noqa: E402
    biggest_checkout,
    one,
    owner_of,
    percentile,
    signed_in,
    timed,
)
from orderdesk.orders.folding import fold  # noqa: E402
from orderdesk.orders.models import Order  # noqa: E402
from orderdesk.orders.queries import Cursor  # noqa: E402
from orderdesk.organizations.models import Checkout, User  # noqa: E402
from orderdesk.organizations.roles import MemberAccess  # noqa: E402
from orderdesk.warmup import warm_up  # noqa: E402
from orderdesk.web.navigation import Navigation  # noqa: E402


@dataclass
class Case:
    name: str
    params: dict[str, str]
    # Admin changelist parameters for the same filter; None when the admin cannot express it.
    admin: dict[str, str] | None
    path: str = "/orders/"
    headers: dict[str, str] | None = None


def discover(checkout: Checkout) -> list[Case]:
    """Filter values taken from the data: common ones, rare ones, and ones matching nothing."""
    c = checkout.pk
    newest = Order.objects.filter(checkout=checkout).order_by("-created_at", "-id").first()
    assert newest is not None, "the checkout has no orders"
    some = Order.objects.filter(checkout=checkout).order_by("-created_at", "-id")[5000]
    common_status = one(
        "SELECT status FROM orders_order WHERE checkout_id=%s GROUP BY status ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    rare_status = one(
        "SELECT status FROM orders_order WHERE checkout_id=%s GROUP BY status ORDER BY count(*) ASC LIMIT 1",
        c,
    )
    common_source = one(
        "SELECT source FROM orders_order WHERE checkout_id=%s AND source<>'' GROUP BY source ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    common_tag = one(
        "SELECT tag FROM orders_ordertag WHERE checkout_id=%s GROUP BY tag ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    rare_tag = one(
        "SELECT tag FROM orders_ordertag WHERE checkout_id=%s GROUP BY tag ORDER BY count(*) ASC, tag LIMIT 1",
        c,
    )
    used_code = one(
        "SELECT d.code FROM catalog_discountcode d JOIN orders_order o ON o.discount_code_id=d.id "
        "WHERE d.checkout_id=%s GROUP BY d.code ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    unused_code = one(
        "SELECT code FROM catalog_discountcode d WHERE checkout_id=%s AND NOT EXISTS "
        "(SELECT 1 FROM orders_order o WHERE o.discount_code_id=d.id) LIMIT 1",
        c,
    )
    accented_surname = one(
        "SELECT last_name FROM orders_order WHERE checkout_id=%s AND last_name ~ '[äöåÄÖÅéü]' "
        "GROUP BY last_name ORDER BY count(*) DESC LIMIT 1",
        c,
    )
    folded_surname = fold(accented_surname or "Järvinen") or ""
    intent, transaction = (
        one(
            "SELECT a.provider_reference FROM payments_paymentattempt a JOIN orders_order o "
            "ON o.id=a.order_id WHERE o.checkout_id=%s AND a.provider=%s "
            "AND a.provider_reference<>'' ORDER BY a.id LIMIT 1 OFFSET 1000",
            c,
            provider,
        )
        for provider in ("stripe", "paytrail")
    )
    charge = one(
        "SELECT a.charge_reference FROM payments_paymentattempt a JOIN orders_order o "
        "ON o.id=a.order_id WHERE o.checkout_id=%s AND a.charge_reference<>'' "
        "ORDER BY a.id LIMIT 1 OFFSET 1000",
        c,
    )
    # The customer's page: the email with the most orders (docs/benchmarks.md gives one 200).
    regular, regular_orders = (
        Order.objects.filter(checkout=checkout)
        .exclude(customer_email="")
        .values_list("customer_email")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    ) or ("nobody@example.com", 0)
    deep = Order.objects.filter(checkout=checkout).order_by("-created_at", "-id")[200_000:200_001]
    deep_cursor = Cursor.of(deep[0]).encode() if deep else Cursor.of(some).encode()
    week_start = (newest.created_at.date()).fromordinal(newest.created_at.date().toordinal() - 7)

    cases = [
        Case("no filter", {}, {}),
        Case("number", {"number": str(some.number)}, None),
        Case("email, exact", {"email": some.customer_email}, {"q": some.customer_email}),
        Case(
            "email, unknown",
            {"email": "nobody-at-all@nowhere.test"},
            {"q": "nobody-at-all@nowhere.test"},
        ),
        Case(
            "email, part (rare)",
            {"email": some.customer_email.split("@")[0][:12]},
            {"q": some.customer_email.split("@")[0][:12]},
        ),
        Case("first name", {"first_name": some.first_name}, None),
        Case("last name", {"last_name": some.last_name}, None),
        Case("last name, unknown", {"last_name": "Zzyzxqwv"}, None),
        Case(
            f"status {common_status} (common)",
            {"status": common_status},
            {"status__exact": common_status},
        ),
        Case(
            f"status {rare_status} (rare)", {"status": rare_status}, {"status__exact": rare_status}
        ),
        Case(
            f"source {common_source}",
            {"source": common_source or ""},
            {"source__exact": common_source or ""},
        ),
        Case("source, unknown", {"source": "Carrier pigeon"}, {"source__exact": "Carrier pigeon"}),
        Case(f"tag {common_tag} (common)", {"tag": common_tag or ""}, None),
        Case(f"tag {rare_tag} (rarest)", {"tag": rare_tag or ""}, None),
        Case("tag, unknown", {"tag": "no-such-tag"}, None),
        Case(f"discount code {used_code}", {"discount_code": used_code or "X"}, None),
        Case(
            f"discount code {unused_code} (unused)",
            {"discount_code": unused_code or "UNUSED"},
            None,
        ),
        Case("discount code, unknown", {"discount_code": "NOSUCHCODE"}, None),
        Case(
            "created, last 7 days",
            {"date_from": week_start.isoformat()},
            {"created_at__gte": week_start.isoformat()},
        ),
        Case(
            "created, empty range",
            {"date_from": "2001-01-01", "date_to": "2001-01-31"},
            {"created_at__gte": "2001-01-01", "created_at__lt": "2001-02-01"},
        ),
        Case("free text: number", {"q": str(some.number)}, None),
        Case("free text: surname", {"q": some.last_name}, {"q": some.last_name}),
        Case(
            "free text: email part",
            {"q": some.customer_email.split("@")[0][:10]},
            {"q": some.customer_email.split("@")[0][:10]},
        ),
        Case("free text: no match", {"q": "qqxjzv"}, {"q": "qqxjzv"}),
        # Issue 14: search as people type.
        Case("free text: full name", {"q": f"{some.first_name} {some.last_name}"}, None),
        Case(
            "free text: full name, last first",
            {"q": f"{some.last_name.lower()} {some.first_name.lower()}"},
            None,
        ),
        Case(
            "free text: first name + email part",
            {"q": f"{some.first_name} {some.customer_email.split('@')[0][:8]}"},
            None,
        ),
        Case(f"free text: {folded_surname} (no accents)", {"q": folded_surname}, None),
        Case(
            f"last name {folded_surname} (no accents)",
            {"last_name": folded_surname},
            None,
        ),
        Case(
            f"source {common_source.lower()} (lower case)", {"source": common_source.lower()}, None
        ),
        Case(
            f"tag {(common_tag or '').upper()} (upper case)",
            {"tag": (common_tag or "").upper()},
            None,
        ),
        Case(
            f"tag {(rare_tag or '').upper()} (rarest, upper case)",
            {"tag": (rare_tag or "").upper()},
            None,
        ),
        Case("free text: Stripe PaymentIntent id", {"q": intent or "pi_none"}, None),
        Case("free text: Stripe charge id", {"q": charge or "ch_none"}, None),
        Case("free text: Paytrail transaction id", {"q": transaction or "none-none"}, None),
        Case(
            f"status {common_status} + source {common_source}",
            {"status": common_status, "source": common_source or ""},
            {"status__exact": common_status, "source__exact": common_source or ""},
        ),
        Case(
            f"status {rare_status} + tag {common_tag}",
            {"status": rare_status, "tag": common_tag or ""},
            None,
        ),
        Case("Requires attention tab", {"tab": "attention"}, None),
        Case("deep page (row 200,000)", {"after": deep_cursor}, {"p": "4000"}),
        Case(
            "panel (htmx fragment)",
            {},
            None,
            path=f"/orders/{some.number}/",
            headers={"HX-Request": "true", "HX-Target": "panel"},
        ),
        Case("panel (full page, deep link)", {}, None, path=f"/orders/{some.number}/"),
        Case(
            f"customer page ({regular_orders} orders)",
            {"email": regular},
            None,
            path="/customers/",
        ),
    ]
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30, help="at least 1")
    parser.add_argument("--admin-runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    assert connection.vendor == "postgresql", "run against PostgreSQL (DATABASE_URL)"
    # The same preparation as orderdesk/wsgi.py gives a gunicorn worker.
    warm_up()
    checkout = biggest_checkout()
    checkout_id = checkout.pk
    total = one("SELECT count(*) FROM orders_order")
    in_checkout = one("SELECT count(*) FROM orders_order WHERE checkout_id=%s", checkout_id)
    owner = owner_of(checkout)
    print(f"# {total:,} orders; checkout {checkout.name!r} has {in_checkout:,}; user {owner.email}")
    print(
        f"# PostgreSQL {one('SHOW server_version')}, {args.runs} runs per case (admin {args.admin_runs})"
    )

    superuser = User(
        email="bench@example.com",
        is_staff=True,
        is_superuser=True,
        is_active=True,
        is_platform_operator=True,
    )
    model_admin = admin.site._registry[Order]
    factory = RequestFactory()

    with signed_in(owner, checkout) as client:
        rows: list[
            tuple[str, float, float, float, float, int, float | None, float | None, float]
        ] = []
        for case in discover(checkout):
            if args.only and args.only not in case.name:
                continue
            headers = case.headers or {}

            def request(case: Case = case, headers: dict[str, str] = headers) -> Any:
                response = client.get(case.path, case.params, headers=headers)
                assert response.status_code == 200, (case.name, response.status_code)
                return response

            with CaptureQueriesContext(connection) as captured:
                request()
            queries = [q["sql"] for q in captured.captured_queries]
            cpu_ms: list[float] = []
            view_ms = timed(request, args.runs, cpu=cpu_ms)

            def replay(queries: list[str] = queries) -> None:
                with connection.cursor() as cursor:
                    for sql in queries:
                        cursor.execute(sql)
                        cursor.fetchall()

            sql_ms = timed(replay, args.runs)
            count_p95: float | None = None
            if case.path == "/orders/":

                def count(case: Case = case) -> None:
                    response = client.get("/orders/count/", case.params)
                    assert response.status_code == 200, (case.name, response.status_code)

                count_p95 = percentile(timed(count, max(3, args.runs // 3), warmup=1), 95)
            admin_p95: float | None = None
            # --admin-runs 0 skips the admin (its column shows "n/a").
            if case.admin is not None and args.admin_runs > 0:

                def changelist(params: dict[str, str] = case.admin) -> None:
                    req = factory.get("/admin/orders/order/", {**params})
                    req.user = superuser
                    req.session = {}  # type: ignore[assignment]
                    # What MemberAccessMiddleware gives every request the admin renders; the
                    # unsaved operator has no checkouts.
                    req.access = MemberAccess(user=superuser, checkouts=(), current=None)  # type: ignore[attr-defined]
                    req.navigation = Navigation(req)  # type: ignore[attr-defined,arg-type]
                    response = model_admin.changelist_view(req)
                    response.render()  # type: ignore[attr-defined]

                admin_p95 = percentile(timed(changelist, args.admin_runs, warmup=1), 95)
            p50, p95, sql95 = (
                statistics.median(view_ms),
                percentile(view_ms, 95),
                percentile(sql_ms, 95),
            )
            rows.append(
                (
                    case.name,
                    p50,
                    p95,
                    sql95,
                    p95 / sql95 if sql95 else 0,
                    len(queries),
                    count_p95,
                    admin_p95,
                    statistics.median(cpu_ms),
                )
            )
            print(
                f"{case.name:45} p50 {p50:7.1f}  p95 {p95:7.1f}  sql p95 {sql95:6.1f}  "
                f"x{p95 / sql95:4.1f}  cpu p50 {statistics.median(cpu_ms):6.1f}  "
                f"{len(queries):2} queries  count p95 "
                + (f"{count_p95:7.1f}" if count_p95 is not None else "    n/a")
                + "  admin p95 "
                + (f"{admin_p95:8.1f}" if admin_p95 is not None else "     n/a"),
                flush=True,
            )

    print()
    print(
        "| case | p50 ms | p95 ms | bare SQL p95 ms | ratio | Python CPU p50 ms | queries "
        "| count request p95 ms | admin changelist p95 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, p50, p95, sql95, ratio, n_queries, count_p95, admin_p95, cpu50 in rows:
        count_text = f"{count_p95:.1f}" if count_p95 is not None else "n/a"
        admin_text = f"{admin_p95:.0f}" if admin_p95 is not None else "n/a"
        print(
            f"| {name} | {p50:.1f} | {p95:.1f} | {sql95:.1f} | {ratio:.1f} | {cpu50:.1f} | {n_queries} "
            f"| {count_text} | {admin_text} |"
        )


if __name__ == "__main__":
    main()
