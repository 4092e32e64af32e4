"""Prepare a web process before its first request: load what requests share, then freeze it.

A request that runs while Python's cyclic garbage collector does a full collection waits for
it to walk every object the process holds. After the URLconf (and with it every view module,
the payment SDKs and pydantic models) and the templates are loaded, a full collection takes
40–90 ms; it happens every few dozen requests and was most of the orders table's p95.
`gc.freeze()` moves the objects loaded once per process out of the collector's sight, so a
full collection walks only what requests leave behind. `orderdesk/wsgi.py` calls this, and so
do the benchmarks, so they measure a process prepared like a gunicorn worker.
"""

from __future__ import annotations

import gc
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import timezone, translation

from orderdesk.lib import formats
from orderdesk.lib.money import country_name
from orderdesk.reports.rates import supported_currencies


def project_templates() -> list[str]:
    """Names of the templates of Orderdesk's own apps (the ones its pages render)."""
    names: list[str] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("orderdesk."):
            continue
        root = Path(config.path) / "templates"
        names.extend(path.relative_to(root).as_posix() for path in sorted(root.rglob("*.html")))
    return names


def warm_up() -> None:
    """Load the URLconf, compile every project template and load the locale data, then freeze."""
    # Resolving the patterns imports every view module and what they import.
    get_resolver().url_patterns  # noqa: B018
    for name in project_templates():
        get_template(name)
    # Each language's catalogue and CLDR data (numbers, dates, country names).
    now = timezone.now()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            translation.gettext("Orders")
        formats.money(0, "EUR", language)
        formats.datetime(now, language)
        formats.skeleton("MMMd", now, language)
        country_name("FI", formats.number_locale(language))
    # The ECB history: a quarter of a million rates that every converted report reads.
    supported_currencies()
    gc.collect()
    gc.freeze()
