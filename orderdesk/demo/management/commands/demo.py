"""`make demo`: migrate, create the demo data once, run the web server and a task worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.urls import reverse

from orderdesk.catalog.models import CheckoutLink
from orderdesk.demo.catalog import INGEST_KEYS, LOGINS, OPERATOR_LOGIN, PASSWORD
from orderdesk.demo.data import DEMO_ORDERS, ensure_demo_data
from orderdesk.organizations.models import Checkout
from orderdesk.sandboxes.apps import sandboxes_installed

SANDBOXED = {
    "STRIPE_API_BASE": "stripe",
    "PAYTRAIL_API_BASE": "paytrail",
    "EPASSI_API_BASE": "epassi",
}


# How a child ends when it is stopped (Ctrl-C in a terminal reaches the children too):
# cleanly or by SIGINT / SIGTERM. Any other end is a death.
STOPPED = (0, 130, -signal.SIGINT, -signal.SIGTERM)
# The task worker is started again when it dies, unless it died this often within a minute:
# then something is wrong that a restart does not fix, and the demo stops saying so.
RESTARTED = frozenset({"task worker"})
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0


def checkout_pages(site_url: str, checkouts: list[Checkout]) -> list[tuple[str, str]]:
    """The demo checkout page of each active offer (its first link), to buy from as a customer."""
    pages: dict[int, tuple[str, str]] = {}
    links = CheckoutLink.objects.filter(
        checkout__in=checkouts, is_active=True, offer__is_active=True
    ).select_related("offer", "checkout")
    for link in links.order_by("checkout_id", "offer_id", "pk"):
        path = reverse("checkout_page:page", args=[link.checkout_id, link.slug])
        pages.setdefault(
            link.offer_id, (f"{link.checkout.name}: {link.offer.name}", site_url + path)
        )
    return list(pages.values())


class Stop(Exception):
    """SIGTERM or SIGINT reached the demo: shut the children down."""


class Command(BaseCommand):
    help = (
        "Start the demo: migrate, create the demo merchant and its orders once, then run the "
        "web server and a task worker until Ctrl-C. PORT sets the port (default 8000)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders",
            type=int,
            default=DEMO_ORDERS,
            help=f"Orders to create on the first run (default {DEMO_ORDERS:,}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not sandboxes_installed():
            self._restart_with_sandboxes()
        port = os.environ.get("PORT", "8000")
        if not port.isdigit():
            raise CommandError(f"PORT must be a number, got {port!r}")
        site_url = f"http://127.0.0.1:{port}"
        env = self._child_environment(site_url)
        # This process creates the demo data, whose sandbox URLs must name the demo's port.
        settings.SITE_URL = site_url

        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        self.stdout.write(f"Preparing demo data ({options['orders']:,} orders on first run)…")
        data = ensure_demo_data(site_url=site_url, orders=options["orders"])
        verb = "Created" if data.created else "Reusing"
        self.stdout.write(f"{verb} demo data: {data.organization.name}, {data.orders:,} orders.")
        if data.sandbox_objects:
            self.stdout.write(
                f"Registered {data.sandbox_objects:,} payments and refunds at the sandboxes."
            )

        pages = checkout_pages(site_url, data.checkouts)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            # --insecure serves static files (htmx from node_modules) without DEBUG. runserver
            # answers each request in a new thread, and a persistent connection would stay
            # open after its thread ended: 20-30 idle ones on PostgreSQL. One per request.
            "web server": (
                [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
                {**env, "DB_CONN_MAX_AGE": "0"},
            ),
            # db_worker plus the schedule of periodic work (orderdesk/worker).
            "task worker": ([*manage, "run_worker"], env),
        }
        # The children have their own connections; this process only waits for them.
        connections.close_all()
        self._supervise(commands, announce=lambda: self._announce(site_url, env, pages))

    def _restart_with_sandboxes(self) -> NoReturn:
        """Run this command again in a fresh process with SANDBOXES_ENABLED on.

        The demo migrates the sandboxes' tables, registers its payments at them and serves
        them, so the app must be installed here, and INSTALLED_APPS is fixed once Django has
        set up. Replacing the process (same pid, same terminal) keeps `manage.py demo` the
        whole story instead of asking every caller to set the variable first.
        """
        env = {**os.environ, "SANDBOXES_ENABLED": "1"}
        sys.stdout.flush()
        os.execve(sys.executable, sys.orig_argv, env)  # noqa: S606 (the same command again)

    def _child_environment(self, site_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("SITE_URL", site_url)
        for setting, provider in SANDBOXED.items():
            # The providers' local sandboxes are served by the demo's own web server.
            env.setdefault(setting, f"{site_url}/sandbox/{provider}")
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _announce(self, site_url: str, env: dict[str, str], pages: list[tuple[str, str]]) -> None:
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS(f"Orderdesk demo: {site_url}/"))
        w(f"  Log in with password {PASSWORD!r} as:")
        for email, _, _, role in LOGINS:
            w(f"    {email:<24} {role}")
        w(f"    {OPERATOR_LOGIN:<24} platform operator: only the Django admin, {site_url}/admin/")
        w("  Checkout ingest keys: " + ", ".join(f"{k} = {v}" for k, v in INGEST_KEYS.items()))
        w("  Provider sandboxes: " + ", ".join(env[s] for s in SANDBOXED))
        w("  Checkout pages (buy as a customer, then watch the order in the orders table):")
        for name, url in pages:
            w(f"    {url}  {name}")
        mailer: dict[str, Any] = dict(settings.MAILERS["default"])
        mail_path = mailer.get("OPTIONS", {}).get("file_path")
        if mail_path:
            w(f"  Emails are written to {mail_path}")
        w("  Press Ctrl-C to stop.")
        w("")

    def _supervise(
        self,
        commands: dict[str, tuple[list[str], dict[str, str]]],
        *,
        announce: Callable[[], None],
    ) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            raise Stop

        def start(name: str) -> subprocess.Popen[bytes]:
            command, env = commands[name]
            return subprocess.Popen(command, env=env)

        previous = signal.signal(signal.SIGTERM, stop)
        # A parent that ignores SIGINT (a test runner's worker, nohup) passes that on; Ctrl-C
        # must still stop the demo.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        failed = None
        gave_up = False
        children: dict[str, subprocess.Popen[bytes]] = {}
        restarts: dict[str, list[float]] = {name: [] for name in RESTARTED}
        # The children start inside the try: a Ctrl-C that lands while they start or while
        # the banner prints must still stop them, or they would outlive the demo.
        try:
            for name in commands:
                children[name] = start(name)
            announce()
            while failed is None:
                for name, child in list(children.items()):
                    code = child.poll()
                    if code is None:
                        continue
                    if name in RESTARTED and code not in STOPPED:
                        if self._may_restart(restarts[name]):
                            self.stderr.write(
                                f"The {name} exited with status {code}; starting it again."
                            )
                            children[name] = start(name)
                            continue
                        gave_up = True
                    failed = name
                    break
                time.sleep(0.5)
        except (KeyboardInterrupt, Stop):
            self.stdout.write("\nStopping the demo…")
        finally:
            signal.signal(signal.SIGTERM, previous)
            # Ctrl-C reaches this process twice (from the terminal and forwarded by `uv run`);
            # the second must not cut the shutdown short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        # Ctrl-C in a terminal reaches the children too, and one may be gone before this
        # process notices: exiting by that signal, or cleanly, is a stop, not a failure.
        code = children[failed].returncode if failed is not None else 0
        if gave_up:
            raise CommandError(
                f"The {failed} exited {MAX_RESTARTS + 1} times within "
                f"{RESTART_WINDOW_SECONDS:.0f} s (last status {code}); the demo stopped."
            )
        if code not in STOPPED:
            raise CommandError(f"The {failed} exited with status {code}; the demo stopped.")
        self.stdout.write("Demo stopped.")

    @staticmethod
    def _may_restart(times: list[float]) -> bool:
        """Note a restart now unless MAX_RESTARTS happened within RESTART_WINDOW_SECONDS."""
        now = time.monotonic()
        times[:] = [t for t in times if now - t < RESTART_WINDOW_SECONDS]
        if len(times) >= MAX_RESTARTS:
            return False
        times.append(now)
        return True
