"""Sandbox state helpers: objects, faults on demand, and the gate that hides the sandboxes."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from orderdesk.payments.models import ProviderAccount
from orderdesk.sandboxes.models import SandboxObject

View = Callable[..., HttpResponse]


def sandbox_view(view: View) -> View:
    """Serve the view only while sandboxes are enabled; they take no CSRF token."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.SANDBOXES_ENABLED:
            raise Http404("Sandboxes are disabled")
        return view(request, *args, **kwargs)

    return wrapper


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def get(provider: str, kind: str, key: str) -> dict[str, Any] | None:
    row = SandboxObject.objects.filter(provider=provider, kind=kind, key=key).first()
    return row.data if row else None


def get_for_update(provider: str, kind: str, key: str) -> dict[str, Any] | None:
    row = (
        SandboxObject.objects.select_for_update()
        .filter(provider=provider, kind=kind, key=key)
        .first()
    )
    return row.data if row else None


def put(provider: str, kind: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    SandboxObject.objects.update_or_create(
        provider=provider, kind=kind, key=key, defaults={"data": data}
    )
    return data


def find(provider: str, kind: str, **match: Any) -> list[dict[str, Any]]:
    rows = SandboxObject.objects.filter(provider=provider, kind=kind).order_by("pk")
    return [r.data for r in rows if all(r.data.get(k) == v for k, v in match.items())]


FAULTS = ("500", "timeout", "pending", "decline")


def add_fault(provider: str, operation: str, fault: str, count: int = 1) -> None:
    """Make the next `count` calls of `operation` fail with `fault` (500, timeout...)."""
    if fault not in FAULTS:
        raise ValueError(f"Unknown fault {fault!r}; one of {', '.join(FAULTS)}")
    put(provider, "fault", operation, {"fault": fault, "count": count})


def take_fault(provider: str, operation: str) -> str | None:
    with transaction.atomic():
        row = (
            SandboxObject.objects.select_for_update()
            .filter(provider=provider, kind="fault", key=operation)
            .first()
        )
        if row is None:
            return None
        fault = str(row.data["fault"])
        if row.data["count"] <= 1:
            row.delete()
        else:
            row.data["count"] -= 1
            row.save(update_fields=["data", "updated_at"])
        return fault


STALL_EXTRA_SECONDS = 0.25


def stall() -> None:
    """Answer only after the client has given up, like a provider that hangs."""
    time.sleep(settings.PROVIDER_TIMEOUT_SECONDS + STALL_EXTRA_SECONDS)


def merchant_secret(provider: str, account_id: str, builtin: dict[str, str]) -> str | None:
    """The secret a sandbox knows for a merchant: its built-in test merchants, or any account
    configured in Orderdesk (the sandbox stands in for the provider's merchant registry)."""
    if account_id in builtin:
        return builtin[account_id]
    for account in ProviderAccount.objects.filter(provider=provider, account_id=account_id):
        if account.has_secret("secret_key"):
            return account.secret("secret_key")
    return None


def forget(provider: str, kind: str, key: str) -> None:
    SandboxObject.objects.filter(provider=provider, kind=kind, key=key).delete()
