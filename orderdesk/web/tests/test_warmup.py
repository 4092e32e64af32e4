from __future__ import annotations

import gc
import importlib
import sys

from orderdesk.warmup import project_templates, warm_up


def test_it_lists_the_templates_of_the_project_only() -> None:
    names = project_templates()
    assert "web/orders/list.html" in names
    assert "web/app.html" in names
    assert not any(name.startswith("admin/") for name in names)


def test_the_wsgi_entry_point_warms_up_and_freezes() -> None:
    sys.modules.pop("orderdesk.wsgi", None)
    gc.unfreeze()
    try:
        wsgi = importlib.import_module("orderdesk.wsgi")
        assert callable(wsgi.application)
        # What was loaded before the first request is out of the collector's reach.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_warm_up_can_run_twice() -> None:
    try:
        warm_up()
        warm_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
