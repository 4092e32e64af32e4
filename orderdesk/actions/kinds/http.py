"""The one HTTP seam of action kinds: explicit timeouts, and errors sorted into retry or not."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
from django.conf import settings

from orderdesk.actions.kinds.base import ActionError

DISPLAY_LENGTH = 300


def shorten(message: str, length: int = DISPLAY_LENGTH) -> str:
    """One line of at most `length` characters, for the panel and the timeline."""
    message = " ".join(message.split())
    return message if len(message) <= length else message[: length - 1] + "…"


def client() -> httpx.Client:
    """Tests replace this to route requests to the sandboxes without a server."""
    seconds = settings.ACTION_TIMEOUT_SECONDS
    return httpx.Client(timeout=httpx.Timeout(seconds, connect=min(seconds, 5)))


def error_detail(response: httpx.Response) -> str:
    """The most readable error a receiver sent: Kajabi-style strings, JSON:API or plain text."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return shorten(response.text) or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = [
                e.get("detail") or e.get("title") or "" if isinstance(e, dict) else str(e)
                for e in errors
            ]
            return shorten("; ".join(p for p in parts if p))
        for key in ("error", "message", "detail"):
            if isinstance(body.get(key), str):
                return shorten(body[key])
    return shorten(response.text)


def post(
    url: str,
    *,
    service: str,
    content: bytes,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST and return a 2xx response; anything else raises ActionError.

    Timeouts, connection errors and 5xx are transient (retried); other 4xx are permanent,
    except 408 and 429, which ask the caller to come back later.
    """
    try:
        with client() as http:
            response = http.post(url, content=content, headers=headers, params=params)
    except httpx.TimeoutException:
        raise ActionError(
            f"{service} did not answer within {settings.ACTION_TIMEOUT_SECONDS} s", permanent=False
        ) from None
    except httpx.InvalidURL as exc:
        raise ActionError(f"Invalid {service} URL: {exc}", permanent=True) from None
    except httpx.UnsupportedProtocol:
        raise ActionError(f"Invalid {service} URL: {shorten(url, 100)}", permanent=True) from None
    except httpx.TransportError as exc:
        raise ActionError(
            f"Could not reach {service}: {shorten(str(exc), 150) or type(exc).__name__}",
            permanent=False,
        ) from None
    if response.is_success:
        return response
    status = response.status_code
    permanent = 400 <= status < 500 and status not in (408, 429)
    raise ActionError(
        f"{service} answered {status}: {error_detail(response)}",
        permanent=permanent,
        http_status=status,
    )
