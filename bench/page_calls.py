"""Python function calls and queries of one page, counted in-process (not a test; see
docs/benchmarks.md). Call counts do not depend on the machine's load, so they compare two
versions of the code where wall times on a busy machine cannot.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/page_calls.py panel

`panel` is the htmx fragment of the order the orders-table benchmark opens (the 5,001st newest
of the biggest checkout), `table` the first page of orders; `--top` lists the functions called
most. Sessions live in signed cookies: nothing is written.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.common import biggest_checkout, owner_of, signed_in  # noqa: E402
from orderdesk.orders.models import Order  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("page", choices=["panel", "table"])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=0, help="list the most called functions")
    parser.add_argument(
        "--sort", default="ncalls", help="pstats order of --top: ncalls, cumulative, tottime"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="profile CPU time (time.process_time), not wall time"
    )
    parser.add_argument("--restrict", default="", help="list only functions whose path matches")
    args = parser.parse_args()
    checkout = biggest_checkout()
    order = Order.objects.filter(checkout=checkout).order_by("-created_at", "-id")[5000]
    path, headers = "/orders/", {}
    if args.page == "panel":
        path, headers = f"/orders/{order.number}/", {"HX-Request": "true", "HX-Target": "panel"}
    with signed_in(owner_of(checkout), checkout) as client:

        def request() -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.status_code

        for _ in range(5):
            request()
        with CaptureQueriesContext(connection) as queries:
            request()
        query_count = len(queries.captured_queries)  # read before the settings change back
        profile = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            request()
        profile.disable()
    stats = pstats.Stats(profile)
    calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
    print(f"{args.page}: {query_count} queries, {calls:,.0f} calls per request")
    if args.top:
        restrictions: list[str | int] = [args.restrict] if args.restrict else []
        stats.sort_stats(args.sort).print_stats(*restrictions, args.top)


if __name__ == "__main__":
    main()
