from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import Page, expect
from pytest_django import Settings

from orderdesk.lib.catalogs import compile_catalogs
from orderdesk.lib.replica import REPLICA
from orderdesk.testing import factories

# Playwright's sync API keeps an event loop running in the test thread, which would make
# Django refuse ORM calls in browser tests; the tests never share connections across threads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Enough examples to find edge cases, few enough for a quick suite; no deadline because the
# shared CI machines have noisy timings.
hypothesis_settings.register_profile("orderdesk", max_examples=200, deadline=None)
hypothesis_settings.load_profile("orderdesk")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    # Persistent connections (DB_CONN_MAX_AGE) would keep the live server's request threads'
    # sessions open after the tests, and PostgreSQL refuses to drop a database in use.
    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> None:
    """With DATABASE_REPLICA_URL (.ci/run's replica run), the `replica` alias reads the real
    replica: Django's test set-up made it a mirror of `default` (the replica cannot create
    a database; it copies the primary's test database by itself), and a mirror would read
    the primary. It keeps the replica's server and takes the test database's name."""
    if REPLICA in settings.DATABASES:
        replica = connections[REPLICA]
        replica.close()
        replica.settings_dict = {
            **settings.DATABASES[REPLICA],
            "NAME": connections["default"].settings_dict["NAME"],
        }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    # The default hasher is slow by design; tests log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> factories.World:
    return factories.world()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright's own browser download needs the internet; Debian's chromium does not.
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Page:
    """A Playwright page in Debian's Chromium; pair it with `live_server`.

    Skips when Chromium is missing, except under CI (`CI=1`, set by .ci/run), where a missing
    browser must fail the run instead of hiding the browser tests.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    page: Page = request.getfixturevalue("page")
    # Two xdist workers, a live server and Chromium share two cores in CI: give actions and
    # assertions the same ten seconds, well above a healthy page's few hundred milliseconds.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    return page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser_page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def provider_sandboxes(settings: Any) -> None:
    # The provider sandboxes are on in tests; their webhooks and callbacks go out only when a
    # test delivers them (orderdesk.sandboxes.deliveries), never from a background thread.
    settings.SANDBOXES_ENABLED = True
    settings.SANDBOX_AUTO_DELIVER = False


def pytest_configure(config: pytest.Config) -> None:
    # Translations come from .mo files built from the .po files; an edited .po is compiled
    # before the tests read it (once, by the controller, not by each xdist worker).
    if not hasattr(config, "workerinput"):
        compile_catalogs()
