from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def running(pid: str) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def wait_for(url: str, process: subprocess.Popen[str], seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited before serving"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status)
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_it_serves_the_demo_and_stops_both_processes_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    # As from a shell: no SANDBOXES_ENABLED, and no PYTEST_VERSION, which installs the
    # sandboxes for the tests; the demo must turn them on by itself.
    shell = {
        k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "SANDBOXES_ENABLED")
    }
    env = {
        **shell,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PORT": str(port),
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "ECB_RATES_FILE": str(tmp_path / "ecb.zip"),
    }
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
        status = wait_for(f"http://127.0.0.1:{port}/admin/login/", process, seconds=240)
        sandbox = wait_for(f"http://127.0.0.1:{port}/sandbox/kajabi/offers/demo/", process, 30)
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        left_running = [pid for pid in children if running(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.returncode is None:
            process.communicate(timeout=30)

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
    assert "Demo stopped." in output
    assert len(children) == 2
    assert left_running == []
