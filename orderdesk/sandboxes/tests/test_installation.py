"""Where the sandboxes exist: development, the demo and the tests, never in production."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from orderdesk.sandboxes.models import (
    SandboxDelivery,
    SandboxKajabiGrant,
    SandboxKajabiOffer,
    SandboxObject,
    SandboxWebhookDelivery,
    SandboxWebhookEndpoint,
)

SANDBOX_MODELS = [
    SandboxObject,
    SandboxDelivery,
    SandboxKajabiOffer,
    SandboxKajabiGrant,
    SandboxWebhookEndpoint,
    SandboxWebhookDelivery,
]
# The records a database migrated before the sandboxes had an app of their own holds.
OLD_RECORDS = [("sandbox", "0001_initial"), ("actions", "0003_run_claims_and_sandboxes")]


def manage(*args: str, tmp_path: Path, **env: str) -> str:
    """Run manage.py as production would: no DEBUG, no SANDBOXES_ENABLED, and none of the
    variables pytest sets (PYTEST_VERSION installs the sandboxes for the tests)."""
    unset = ("PYTEST_VERSION", "SANDBOXES_ENABLED", "DEBUG")
    production = {k: v for k, v in os.environ.items() if k not in unset}
    production["DATABASE_URL"] = f"sqlite:///{tmp_path / 'production.sqlite3'}"
    production["ECB_RATES_FILE"] = str(tmp_path / "ecb.zip")
    done = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env={**production, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_production_migrations_create_no_sandbox_table(tmp_path: Path) -> None:
    plan = manage("migrate", "--plan", tmp_path=tmp_path)

    assert "actions.0003_one_active_run_per_snapshot" in plan
    assert "sandbox" not in plan.lower()


def test_the_development_configuration_migrates_the_sandboxes(tmp_path: Path) -> None:
    plan = manage("migrate", "--plan", tmp_path=tmp_path, SANDBOXES_ENABLED="1")

    assert "sandboxes.0001_initial" in plan
    assert "Create model SandboxKajabiGrant" in plan


def test_a_production_configuration_has_no_sandbox_urls_or_tables_yet_generates_orders(
    tmp_path: Path,
) -> None:
    manage("migrate", tmp_path=tmp_path)
    generated = manage("generate_orders", "--orders", "20", "--no-analyze", tmp_path=tmp_path)
    served = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.urls import Resolver404, resolve\n"
        "try:\n    resolve('/sandbox/deliver/')\nexcept Resolver404:\n    print('not served')",
        tmp_path=tmp_path,
    )

    with sqlite3.connect(tmp_path / "production.sqlite3") as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master")]
    assert "orders_order" in tables
    assert [name for name in tables if "sandbox" in name] == []
    assert "Generated 20 orders" in generated
    assert "registered at the provider sandboxes" not in generated
    assert served.strip() == "not served"


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_before_the_sandboxes_app_keeps_its_rows() -> None:
    call_command("migrate", "sandboxes", "zero", verbosity=0)
    recorder = MigrationRecorder(connection)
    # The database as the old code left it: the same tables (the app keeps their names and
    # definitions), with rows, recorded as migrated by the old `sandbox` app and `actions` 0003.
    with connection.schema_editor() as editor:
        for model in SANDBOX_MODELS:
            editor.create_model(model)
    recorder.record_unapplied("actions", "0003_one_active_run_per_snapshot")
    for app, name in OLD_RECORDS:
        recorder.record_applied(app, name)
    SandboxObject.objects.create(provider="stripe", kind="payment_intent", key="pi_1", data={})
    SandboxDelivery.objects.create(provider="stripe", url="http://127.0.0.1/hook", body="{}")
    offer = SandboxKajabiOffer.objects.create(key="masterclass")
    SandboxKajabiGrant.objects.create(
        offer=offer,
        external_user_id="u1",
        email="a@example.com",
        name="A",
        granted_at=timezone.now(),
    )
    endpoint = SandboxWebhookEndpoint.objects.create(key="crm")
    SandboxWebhookDelivery.objects.create(endpoint=endpoint, delivery_id="d1", signature_valid=True)

    try:
        call_command("migrate", verbosity=0)

        applied = recorder.applied_migrations()
        assert ("sandboxes", "0001_initial") in applied
        assert ("actions", "0003_one_active_run_per_snapshot") in applied
        assert [model._default_manager.count() for model in SANDBOX_MODELS] == [1, 1, 1, 1, 1, 1]
        assert SandboxKajabiGrant.objects.get().offer == offer
    finally:
        for app, name in OLD_RECORDS:
            recorder.record_unapplied(app, name)
