"""Errors the API's own endpoints raise; api.api turns them into `{detail, code}` responses."""

from __future__ import annotations

from collections.abc import Mapping


class InvalidParameters(Exception):
    """Query parameters that did not validate: a message per parameter (answered with 400)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        return "; ".join(f"{name}: {message}" for name, message in self.errors.items())
