"""The one way the adapters without an SDK (Paytrail, Epassi) call their provider over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from django.conf import settings

from orderdesk.payments.providers.base import ProviderError, redact


def _message(body: dict[str, Any], reason: str) -> str:
    return str(body.get("message") or reason)


def call(
    name: str,
    method: str,
    url: str,
    *,
    secret: str,
    content: bytes | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    describe: Callable[[dict[str, Any], str], str] = _message,
) -> tuple[httpx.Response, dict[str, Any]]:
    """Send one request to provider `name`; return the response and its JSON object body.

    The body is {} when it is not a JSON object. No answer in time or no connection is a
    retryable ProviderError; an answer of 400 or more is one too, permanent below 500, in
    the provider's own words (`describe(body, HTTP reason)`: by default the body's message,
    else the reason). `secret` never appears in a message.
    """
    try:
        response = httpx.request(
            method,
            url,
            content=content,
            data=data,
            headers=headers,
            timeout=httpx.Timeout(settings.PROVIDER_TIMEOUT_SECONDS),
        )
    except httpx.TimeoutException:
        raise ProviderError(f"{name} did not answer in time", permanent=False) from None
    except httpx.HTTPError as error:
        message = redact(f"{name} could not be reached: {error}", secret)
        raise ProviderError(message, permanent=False) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code >= 400:
        raise ProviderError(
            redact(f"{name}: {describe(body, response.reason_phrase)}", secret),
            permanent=response.status_code < 500,
            http_status=response.status_code,
        )
    return response, body
