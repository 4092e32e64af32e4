"""A value the fast template tags read once per template rendered (not a tag library).

`i18n_literals` and `constant_urls` each need something found through an `asgiref` `Local`
(the language; the URLconf and script prefix) that does not change while one template
renders: it is kept in the template's render context, which every `render()` and
`{% include %}` starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from django.template.context import Context

_MISSING = object()


def once_per_render[T](context: Context, key: str, compute: Callable[[], T]) -> T:
    render_context = context.render_context
    value = render_context.get(key, _MISSING)
    if value is _MISSING:
        value = render_context[key] = compute()
    return value  # type: ignore[return-value]
