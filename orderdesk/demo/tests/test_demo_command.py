from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from orderdesk.demo.management.commands.demo import MAX_RESTARTS, Command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def running(pid: str) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def children_of(process: subprocess.Popen[str]) -> dict[str, str]:
    """The demo's children by role: {"web server": pid, "task worker": pid}."""
    found = {}
    for pid in subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue  # it ended after pgrep saw it (the killed worker, reaped)
        found["web server" if "runserver" in command else "task worker"] = pid
    return found


def wait_for(url: str, process: subprocess.Popen[str], seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited before serving"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def shell_environment(**env: str) -> dict[str, str]:
    # As from a shell: no SANDBOXES_ENABLED, and no PYTEST_VERSION, which installs the
    # sandboxes for the tests; the demo must turn them on by itself.
    shell = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "SANDBOXES_ENABLED")
    }
    return {**shell, **env}


@contextlib.contextmanager
def demo(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "demo", "--orders", "30"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group, so cleanup can reach the server and worker it starts.
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.returncode is None:
            process.communicate(timeout=30)


def test_it_serves_the_demo_keeps_its_worker_alive_and_stops_both_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = shell_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        PORT=str(port),
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        ECB_RATES_FILE=str(tmp_path / "ecb.zip"),
    )
    with demo(env) as process:
        status = wait_for(f"http://127.0.0.1:{port}/admin/login/", process, seconds=240)
        sandbox = wait_for(f"http://127.0.0.1:{port}/sandbox/kajabi/offers/demo/", process, 30)
        checkout_page = f"http://127.0.0.1:{port}/c/1/masterclass-meta/"
        opened = wait_for(checkout_page, process, 30)
        first = children_of(process)
        # The worker dies (issue 18, finding 7): the demo starts another and goes on serving.
        os.kill(int(first["task worker"]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while children_of(process).get("task worker") in (None, first["task worker"]):
            assert time.monotonic() < deadline, "no new task worker"
            time.sleep(0.5)
        after = children_of(process)
        still_serving = wait_for(f"http://127.0.0.1:{port}/login/", process, 30)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        left_running = [pid for pid in after.values() if running(pid)]

    assert status == 200
    assert sandbox == 200, "the web server serves the sandboxes from tables the demo migrated"
    assert "payments and refunds at the sandboxes" in output
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    for login in ("owner@demo.example", "admin@demo.example", "support@demo.example"):
        assert login in output
    assert "viewer@demo.example" in output
    assert "operator@demo.example" in output
    assert f"http://127.0.0.1:{port}/sandbox/stripe" in output
    assert opened == 200, "the demo serves its checkout pages"
    assert f"{checkout_page}  Photography School: Masterclass Launch" in output
    assert "The task worker exited with status -9; starting it again." in output
    assert still_serving == 200
    assert after["web server"] == first["web server"]
    assert "Demo stopped." in output
    assert sorted(first) == ["task worker", "web server"]
    assert left_running == []


def test_the_worker_is_started_again_at_most_five_times_a_minute() -> None:
    times: list[float] = []

    allowed = [Command._may_restart(times) for _ in range(MAX_RESTARTS + 1)]

    assert allowed == [True] * MAX_RESTARTS + [False]


def on_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the test run's PostgreSQL server, dropped afterwards."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("counts PostgreSQL connections")
    name = f"demo_{secrets.token_hex(4)}"
    server = on_database(os.environ["DATABASE_URL"], "postgres")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield on_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_the_demo_keeps_few_connections_open_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    name = urlsplit(postgres_url).path.lstrip("/")
    url = postgres_url
    port = free_port()
    env = shell_environment(
        DATABASE_URL=url,
        PORT=str(port),
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        ECB_RATES_FILE=str(tmp_path / "ecb.zip"),
    )
    with demo(env) as process:
        wait_for(f"http://127.0.0.1:{port}/login/", process, seconds=300)
        # Pages that read the database, eight at a time, as a browser loading a page does.
        pages = [f"http://127.0.0.1:{port}/sandbox/kajabi/offers/demo/"] * 40
        threads = [threading.Thread(target=wait_for, args=(page, process, 30)) for page in pages]
        for batch in range(0, len(threads), 8):
            for thread in threads[batch : batch + 8]:
                thread.start()
            for thread in threads[batch : batch + 8]:
                thread.join()
        time.sleep(2)
        with psycopg.connect(on_database(url, "postgres"), autocommit=True) as db:
            row = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchone()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)

    assert row is not None
    # The task worker's own (its db_worker and its schedule); none left by the web server.
    assert row[0] <= 3, f"{row[0]} connections open"
