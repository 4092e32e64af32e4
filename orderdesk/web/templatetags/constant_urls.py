"""`{% url 'name' %}` of a view without arguments, reversed once per process.

Django's `{% url %}` reverses on every render: resolving the name, finding the script prefix
and the URLconf through `asgiref` `Local`s, and quoting, about 90 function calls (~15 µs).
A signed-in page renders two dozen such tags for the same few views (the header's links and
forms, the filters, the export and bulk buttons). For a literal name without a namespace,
arguments or `as`, this node keeps each reversed URL in a table keyed by the URLconf and
script prefix in force (read once per template rendered, kept in its render context), so a
deployment under a prefix or a test with another URLconf gets its own; every other form keeps
Django's node. The table empties when `ROOT_URLCONF` changes (tests).

Settings list this library in the template builtins, after Django's own tags, so its `url` is
the one every template gets.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression, Node, Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as do_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

from orderdesk.web.templatetags.render_once import once_per_render

register = template.Library()

# (URLconf, script prefix, view name) -> its URL.
_urls: dict[tuple[Any, str, str], str] = {}
_SCOPE = "orderdesk.constant_urls.scope"


@receiver(setting_changed)
def _forget_urls(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _urls.clear()


def _scope(context: Context) -> tuple[Any, str]:
    return once_per_render(context, _SCOPE, lambda: (get_urlconf(), get_script_prefix()))


class ConstantURLNode(Node):
    child_nodelists = ()

    def __init__(self, view_name: str) -> None:
        self.view_name = view_name

    def render(self, context: Context) -> str:
        urlconf, prefix = _scope(context)
        key = (urlconf, prefix, self.view_name)
        url = _urls.get(key)
        if url is None:
            url = _urls[key] = reverse(self.view_name, urlconf=urlconf)
        return conditional_escape(url) if context.autoescape else url


def _constant_name(node: URLNode) -> str | None:
    """The literal view name of a node without arguments, namespace or `as`, else None."""
    if node.args or node.kwargs or node.asvar:
        return None
    expression: FilterExpression = node.view_name
    if expression.filters or expression.is_var:
        return None
    name = expression.var
    if not isinstance(name, str) or ":" in name:
        return None
    return name


@register.tag("url")
def url(parser: Parser, token: Token) -> Node:
    node = do_url(parser, token)
    name = _constant_name(node)
    return node if name is None else ConstantURLNode(name)
