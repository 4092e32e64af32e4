"""The once-reversed `{% url 'name' %}` gives what Django's tag gives."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Engine, engines
from django.urls import set_script_prefix

from orderdesk.testing.templates import project_nodes
from orderdesk.web.templatetags import constant_urls
from orderdesk.web.templatetags.constant_urls import ConstantURLNode

DJANGO_ONLY = Engine()


@pytest.mark.parametrize("prefix", ["/", "/desk/"])
def test_every_constant_url_of_the_templates_is_djangos(prefix: str) -> None:
    nodes = project_nodes(ConstantURLNode)
    assert len(nodes) > 30
    set_script_prefix(prefix)
    try:
        for node in nodes:
            expected = DJANGO_ONLY.from_string("{% url '" + node.view_name + "' %}")
            assert node.render(Context()) == expected.render(Context()), node.view_name
            assert node.render(Context()).startswith(prefix)
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize(
    "source",
    [
        "{% url 'orders' %}",
        '{% url "orders" %}',
        "{% url 'order_detail' 42 %}",
        "{% url 'order_detail' number=42 %}",
        "{% url 'orders' as link %}[{{ link }}]",
        "{% url name %}",
        "{% autoescape off %}{% url 'orders' %}{% endautoescape %}",
    ],
)
def test_each_form_renders_as_with_djangos_tag(source: str) -> None:
    context = {"name": "orders"}
    assert engines["django"].from_string(source).render(context) == DJANGO_ONLY.from_string(
        source
    ).render(Context(context))


def test_only_a_plain_constant_name_takes_the_fast_node() -> None:
    template = engines["django"].from_string(
        "{% url 'orders' %}{% url 'order_detail' 1 %}{% url name %}{% url 'orders' as x %}"
    )
    kinds = [type(n).__name__ for n in template.template.nodelist]  # type: ignore[attr-defined]
    assert kinds == ["ConstantURLNode", "URLNode", "URLNode", "URLNode"]


def test_another_urlconf_empties_the_table(settings: Any) -> None:
    engines["django"].from_string("{% url 'orders' %}").render({})
    assert constant_urls._urls
    settings.ROOT_URLCONF = settings.ROOT_URLCONF
    assert not constant_urls._urls
