"""axe-core in the browser tests: a page or dialog must have no serious or critical violation.

axe-core comes from the npm registry (`package.json`'s devDependencies, installed by
`npm ci` with htmx), so the check runs offline. It is injected with Playwright's `evaluate`,
which the pages' Content-Security-Policy does not govern (a `<script>` tag would be refused).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one main, headings).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page: Page, context: str | None = None) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page, or inside the `context` selector."""
    if not AXE.exists():
        message = f"{AXE} is missing; run `npm ci` (scripts/bootstrap does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        """async ([context, tags]) => {
          const result = await axe.run(context ? document.querySelector(context) : document, {
            runOnly: { type: "tag", values: tags },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
          }));
        }""",
        [context, TAGS],
    )
    return [v for v in found if v["impact"] in BLOCKING]


def assert_accessible(page: Page, what: str, context: str | None = None) -> None:
    """No serious or critical axe violation; the message lists each with its elements."""
    found = violations(page, context)
    assert not found, f"{what}: " + "\n".join(
        f"[{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
        for v in found
    )
