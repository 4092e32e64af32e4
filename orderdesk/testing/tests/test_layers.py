"""The layers of docs/architecture.md hold in the code, including what import-linter misses."""

from __future__ import annotations

import ast
from pathlib import Path

import orderdesk

ROOT = Path(orderdesk.__file__).parent


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "orderdesk" and len(parts) > 1 else None


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module] if node.module and not node.level else []
    return [alias.name for alias in node.names]


def function_level_cross_app_imports(root: Path = ROOT) -> list[str]:
    """`file:line module` of every import of another app inside a function body.

    Such an import hides a dependency from the layers contract (it dodges an import cycle
    at load time); the code belongs in the layer that may import it at the top.
    """
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "tests" in relative.parts or "migrations" in relative.parts:
            continue
        own_app = _app(".".join(relative.with_suffix("").parts))
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                for module in _imported(node):
                    app = _app(module)
                    if app is not None and app != own_app:
                        found.append(f"{relative}:{node.lineno} {module}")
    return found


def test_no_app_imports_another_app_inside_a_function() -> None:
    assert function_level_cross_app_imports() == []


def test_the_check_finds_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    app = tmp_path / "orderdesk" / "orders"
    app.mkdir(parents=True)
    (app / "queries.py").write_text(
        "from orderdesk.orders.models import Order\n"
        "\n"
        "def details(order):\n"
        "    from orderdesk.orders.pricing import vat_breakdown\n"
        "    from orderdesk.payments.models import Refund\n"
        "    return Refund\n"
    )
    assert function_level_cross_app_imports(tmp_path / "orderdesk") == [
        "orderdesk/orders/queries.py:5 orderdesk.payments.models"
    ]
