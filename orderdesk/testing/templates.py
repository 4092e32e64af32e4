"""The compiled nodes of the project's templates, for tests of template tags."""

from __future__ import annotations

from collections.abc import Iterator

from django.template import engines
from django.template.base import Node

from orderdesk.warmup import project_templates


def _walk(nodelist: list[Node]) -> Iterator[Node]:
    for node in nodelist:
        yield node
        for attr in node.child_nodelists:
            yield from _walk(getattr(node, attr, None) or [])


def project_nodes[N: Node](kind: type[N]) -> list[N]:
    """Every node of `kind` in the project's own templates, nested ones included."""
    found: list[N] = []
    for name in project_templates():
        template = engines["django"].get_template(name).template  # type: ignore[attr-defined]
        found.extend(node for node in _walk(template.nodelist) if isinstance(node, kind))
    return found
