"""Two checkouts of Orderdesk compared request by request (not a test; see docs/benchmarks.md).

    uv run python bench/ab.py --a /path/to/before:postgres://…/od_bench \\
        --b .:postgres://…/od_bench_lead --runs 20 [--suite reports]

`bench/orders_table.py` measures one checkout; two of its runs, one after the other, compare two
commits only as well as the machine keeps its speed between them, and on a shared 2-core machine
it does not: the same code has measured twice as slow from one minute to the next. Here both
sides run at once, each in its own process with its own virtualenv, database and copy of
`bench/orders_table.py` (so each side measures its own cases, on its own code), and the parent
has them take turns: one request of a case on one side, then the same on the other, the side
that goes first alternating. Whatever the machine does, it does to both sides alike.

`--suite reports` compares the report tabs instead: `bench/reports.py`'s tabs and periods, in
the organization's zone, per currency and converted to EUR, the same URLs on both sides.

Each side times its requests itself, as `bench/orders_table.py` does: server time through
Django's whole request handler, as a signed-in owner of the biggest checkout, after two warm-up
requests per case. Cases are matched by name; a case that only one side has is left out.

Per case it prints both sides' p50 and p95, the ratio of the p95s (B / A), and the median of the
per-pair ratios (each B request over the A request just before or after it), which the machine's
drift moves least.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


def child(suite: str) -> None:
    """One side: discover the cases in this checkout's own benchmark, then time requests of
    them as the parent asks, one line in, one line out."""
    # The answers go to the parent on the real stdout; anything the code prints goes to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderdesk.settings")
    import bench.orders_table as table  # the side's own cases; it calls django.setup()
    from bench.common import biggest_checkout, owner_of, signed_in

    # As orderdesk/wsgi.py prepares a web process; each commit keeps warm_up in its own module,
    # which its orders_table imports.
    table.warm_up()  # type: ignore[attr-defined]
    checkout = biggest_checkout()
    cases = table.discover(checkout) if suite == "table" else _report_cases(checkout)
    with signed_in(owner_of(checkout), checkout) as client:

        def request(case: Any) -> None:
            response = client.get(case.path, case.params, headers=case.headers or {})
            if response.status_code != 200:
                raise SystemExit(f"{case.name}: status {response.status_code}")

        def answer(value: Any) -> None:
            answers.write(json.dumps(value) + "\n")
            answers.flush()

        answer([case.name for case in cases])
        for line in sys.stdin:
            index = int(line)
            if index < 0:  # warm-up of every case
                for case in cases:
                    request(case)
                    request(case)
                answer({})
                continue
            start, start_cpu = time.perf_counter(), time.process_time()
            request(cases[index])
            wall = (time.perf_counter() - start) * 1000
            cpu = (time.process_time() - start_cpu) * 1000
            answer({"wall": wall, "cpu": cpu})


def _report_cases(checkout: Any) -> list[Any]:
    import bench.orders_table as table
    import bench.reports as reports

    tz = str(checkout.organization.time_zone)
    return [
        table.Case(
            name=f"{tab}, {period}" + (", converted to EUR" if currency else ""),
            params={"period": period, "tab": tab, "tz": tz, "currency": currency},
            admin=None,
            path="/reports/",
        )
        for period in reports.PERIODS
        for currency in ("", "EUR")
        for tab in reports.TABS
    ]


@dataclass
class Side:
    label: str
    process: subprocess.Popen[str]
    cases: list[str]

    @classmethod
    def start(cls, label: str, spec: str, suite: str) -> Side:
        directory, _, database_url = spec.partition(":")
        if not database_url:
            raise SystemExit(f"--{label.lower()} needs DIRECTORY:DATABASE_URL, got {spec!r}")
        root = Path(directory).resolve()
        python = root / ".venv" / "bin" / "python"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
        }
        process = subprocess.Popen(
            [str(python), str(Path(__file__).resolve()), "--child", suite],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        return cls(label, process, json.loads(cls._read(process)))

    @staticmethod
    def _read(process: subprocess.Popen[str]) -> str:
        stdout: IO[str] | None = process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise SystemExit(f"a side stopped (exit {process.wait()})")
        return line

    def ask(self, index: int) -> dict[str, float]:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(f"{index}\n")
        stdin.flush()
        result: dict[str, float] = json.loads(self._read(self.process))
        return result

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True, help="DIRECTORY:DATABASE_URL of side A (before)")
    parser.add_argument("--b", required=True, help="DIRECTORY:DATABASE_URL of side B (after)")
    parser.add_argument("--runs", type=int, default=20, help="requests per case and side")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--within", type=float, default=10.0, help="tolerance in percent")
    parser.add_argument("--suite", choices=("table", "reports"), default="table")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    a, b = Side.start("A", args.a, args.suite), Side.start("B", args.b, args.suite)
    try:
        names = [name for name in a.cases if name in b.cases and args.only in name]
        print(f"# {len(names)} cases on both sides, {args.runs} runs each, interleaved")
        a.ask(-1)
        b.ask(-1)
        walls: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
        cpus: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
        for run in range(args.runs):
            for name in names:
                # The side that goes first alternates, so neither always finds the other's
                # pages evicted or the CPU's clock raised.
                order = ((a, 0), (b, 1)) if run % 2 == 0 else ((b, 1), (a, 0))
                for side, slot in order:
                    timing = side.ask(side.cases.index(name))
                    walls[name][slot].append(timing["wall"])
                    cpus[name][slot].append(timing["cpu"])
    finally:
        a.stop()
        b.stop()

    print()
    print(
        "| case | A p50 | B p50 | A p95 | B p95 | B / A p95 | median pair B / A | CPU p50 A / B |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ratios, pair_ratios = [], []
    for name in names:
        wall_a, wall_b = walls[name]
        cpu_a, cpu_b = cpus[name]
        ratio = percentile(wall_b, 95) / percentile(wall_a, 95)
        pair = statistics.median(y / x for x, y in zip(wall_a, wall_b, strict=True))
        ratios.append(ratio)
        pair_ratios.append(pair)
        print(
            f"| {name} | {statistics.median(wall_a):.1f} | {statistics.median(wall_b):.1f} "
            f"| {percentile(wall_a, 95):.1f} | {percentile(wall_b, 95):.1f} | ×{ratio:.2f} "
            f"| ×{pair:.2f} | {statistics.median(cpu_a):.1f} / {statistics.median(cpu_b):.1f} |"
        )
    limit = 1 + args.within / 100
    print()
    print(
        f"p95 B / A: median ×{statistics.median(ratios):.2f}, "
        f"{sum(r <= limit for r in ratios)} of {len(ratios)} within {args.within:g} %; "
        f"median pair ratio: median ×{statistics.median(pair_ratios):.2f}, "
        f"{sum(r <= limit for r in pair_ratios)} of {len(pair_ratios)} within {args.within:g} %"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
