"""Load benchmark of the checkout's hot path over HTTP (issue 16; see docs/benchmarks.md).

Starts gunicorn as production runs it (`orderdesk.wsgi`, gthread workers; 2 × 4 by default),
then drives the checkout ingest API with N client threads for a fixed time after a warm-up:

- `open`: every client opens orders (`POST /api/v1/checkout/orders`) one after another;
- `flow`: every client opens an order, saves its billing form and starts a manual (invoice)
  payment, the three calls a hosted checkout makes before the provider's page.

It reports per scenario the opens and requests per second, p50/p95/p99 per call, errors, and
the CPU the gunicorn workers spent (user + system, from /proc) divided by the opens: the
Python CPU per open. Payments go to the manual provider so no outside service is timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/od_bench uv run python bench/checkout_load.py
    ... --code /path/to/another/checkout   # serve another version of the code ("before")

It writes: every open is a new Started order (then In Progress and Processing in `flow`) of the
checkout whose ingest key is given, with its timeline events and action snapshots. Run it on a
benchmark database, never on one whose orders matter.

The clients are stdlib `http.client` connections with keep-alive, one per thread: the load
generator shares the machine's cores with gunicorn and PostgreSQL, and it costs less CPU per
request than httpx or locust's workers would.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STEPS = {"open": ("open",), "flow": ("open", "billing", "payment")}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def workers(self) -> list[int]:
        return worker_pids(self.process.pid)

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.workers())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_gunicorn(code: Path, port: int, workers: int, threads: int) -> Server:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-a-secret-4c1d7e"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60"),
    }
    env.pop("SANDBOXES_ENABLED", None)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "orderdesk.wsgi",
        "--chdir",
        str(code),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=code)
    server = Server(process, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5):
                pass
            if len(server.workers()) == workers:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.stop()
    raise SystemExit("gunicorn did not answer within 120 s")


@dataclass
class Results:
    recording: bool = False
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: str, ms: float, error: str | None) -> None:
        if not self.recording:
            return
        with self.lock:
            if error is None:
                self.latencies[step].append(ms)
            else:
                self.errors[step] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{step}: {error}")


class Client:
    """One checkout page: a keep-alive connection with the ingest key."""

    def __init__(self, port: int, key: str, results: Results) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.results = results
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, step: str, method: str, path: str, body: dict[str, Any]) -> Any:
        start = time.perf_counter()
        try:
            self.connection.request(
                method, "/api/v1/checkout" + path, json.dumps(body), self.headers
            )
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.results.add(step, 0, repr(error))
            return None
        ms = (time.perf_counter() - start) * 1000
        if response.status >= 300:
            self.results.add(step, ms, f"{response.status} {payload[:200]!r}")
            return None
        self.results.add(step, ms, None)
        return json.loads(payload)


def order_path(order: dict[str, Any]) -> str:
    # The checkout token where the API has one (issue 16), the order number before it.
    return f"/orders/{order.get('token') or order['number']}"


def drive(
    client: Client, scenario: str, link: str, provider: str, method: str, stop: threading.Event
) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        order = client.call("open", "POST", "/orders", {"link": link})
        if order is None or scenario == "open":
            continue
        path = order_path(order)
        billed = client.call(
            "billing",
            "PUT",
            f"{path}/billing",
            {"email": f"load-{threading.get_ident()}-{n}@example.com", "country": "FI"},
        )
        if billed is None:
            continue
        client.call(
            "payment",
            "POST",
            f"{path}/payments",
            {
                "provider": provider,
                "method": method,
                "amount_minor": billed["total_minor"],
                "currency": billed["currency"],
            },
        )


def run(args: argparse.Namespace, server: Server, scenario: str) -> dict[str, Any]:
    results = Results()
    stop = threading.Event()
    clients = [Client(server.port, args.key, results) for _ in range(args.clients)]
    threads = [
        threading.Thread(
            target=drive, args=(c, scenario, args.link, args.provider, args.method, stop)
        )
        for c in clients
    ]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    load_before = os.getloadavg()
    cpu_before, own_before = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    results.recording = True
    time.sleep(args.seconds)
    results.recording = False
    elapsed = time.perf_counter() - started
    cpu_after, own_after = server.cpu_seconds(), time.process_time()
    load_after = os.getloadavg()
    stop.set()
    for thread in threads:
        thread.join()
    opens = len(results.latencies["open"])
    requests = sum(len(v) for v in results.latencies.values())
    worker_cpu_ms = (cpu_after - cpu_before) * 1000
    return {
        "scenario": scenario,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "opens": opens,
        "opens_per_s": round(opens / elapsed, 1),
        "requests_per_s": round(requests / elapsed, 1),
        "errors": dict(results.errors),
        "error_samples": results.error_samples,
        "steps": {
            step: {
                "n": len(results.latencies[step]),
                "p50_ms": round(percentile(results.latencies[step], 50), 1),
                "p95_ms": round(percentile(results.latencies[step], 95), 1),
                "p99_ms": round(percentile(results.latencies[step], 99), 1),
            }
            for step in STEPS[scenario]
            if results.latencies[step]
        },
        "worker_cpu_ms_per_open": round(worker_cpu_ms / opens, 2) if opens else None,
        "worker_cpu_ms_per_request": round(worker_cpu_ms / requests, 2) if requests else None,
        "worker_cpu_cores": round(worker_cpu_ms / 1000 / elapsed, 2),
        "client_cpu_cores": round((own_after - own_before) / elapsed, 2),
        "load_average": [round(v, 2) for v in (*load_before, *load_after)],
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{result['scenario']}: {result['clients']} clients, {result['seconds']} s: "
        f"{result['opens_per_s']} opens/s, {result['requests_per_s']} requests/s, "
        f"errors {sum(result['errors'].values())} {result['errors'] or ''}"
    )
    for step, row in result["steps"].items():
        print(
            f"  {step:8} n={row['n']:6}  p50 {row['p50_ms']:7.1f} ms  "
            f"p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
        )
    print(
        f"  gunicorn workers' CPU: {result['worker_cpu_ms_per_open']} ms per open, "
        f"{result['worker_cpu_ms_per_request']} ms per request, "
        f"{result['worker_cpu_cores']} cores; this client {result['client_cpu_cores']} cores"
    )
    before, after = result["load_average"][:3], result["load_average"][3:]
    print(f"  load average before {before}, after {after}")
    for sample in result["error_samples"]:
        print(f"  error: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["open", "flow", "both"], default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="measured time per scenario")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds first")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout of Orderdesk to serve"
    )
    parser.add_argument("--key", default="ck_demo_photography", help="the checkout's ingest key")
    parser.add_argument("--link", default="masterclass-meta", help="the checkout link opened")
    parser.add_argument("--provider", default="manual")
    parser.add_argument("--method", default="invoice")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL benchmark database.")

    server = start_gunicorn(args.code.resolve(), args.port, args.workers, args.threads)
    print(
        f"gunicorn {args.workers} workers × {args.threads} threads on port {args.port}, "
        f"serving {args.code.resolve()}",
        flush=True,
    )
    try:
        scenarios = ["open", "flow"] if args.scenario == "both" else [args.scenario]
        results = []
        for scenario in scenarios:
            result = run(args, server, scenario)
            report(result)
            results.append(result)
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
