from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.test import Client

from orderdesk.actions.kinds import http

SANDBOX = "http://sandbox.test/sandbox"
Answer = Callable[..., list[httpx.Request]]


def _through_django(request: httpx.Request) -> httpx.Response:
    """Serve an outgoing request with the in-process sandbox views, no server needed."""
    path = request.url.raw_path.decode()
    headers = {
        k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
    }
    response = Client().generic(
        request.method,
        path,
        data=request.content,
        content_type=request.headers.get("content-type", "application/octet-stream"),
        headers=headers,
    )
    return httpx.Response(
        response.status_code, content=response.content, headers=dict(response.headers)
    )


@pytest.fixture
def sandboxes(settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Route action HTTP calls into the sandbox views; returns their base URL."""
    settings.SANDBOXES_ENABLED = True
    monkeypatch.setattr(
        http, "client", lambda: httpx.Client(transport=httpx.MockTransport(_through_django))
    )
    return SANDBOX


@pytest.fixture
def answer(monkeypatch: pytest.MonkeyPatch) -> Answer:
    """Script the HTTP seam: `answer(httpx.Response(500), httpx.ReadTimeout("slow"), ...)`."""
    seen: list[httpx.Request] = []

    def script(*replies: httpx.Response | Exception) -> list[httpx.Request]:
        queue = list(replies)

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(reply, Exception):
                raise reply
            return reply

        monkeypatch.setattr(
            http, "client", lambda: httpx.Client(transport=httpx.MockTransport(handler))
        )
        return seen

    return script
