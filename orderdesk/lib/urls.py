"""URL helpers shared by the apps (lib imports no app)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode


def query_url(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query string, whether it has one already or not."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
