"""The fast `{% translate "literal" %}` gives what Django's tag gives, for every literal the
project's templates hold, in every language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Engine, engines
from django.templatetags.i18n import TranslateNode
from django.utils import translation
from django.utils.autoreload import file_changed

from orderdesk.testing.templates import project_nodes
from orderdesk.web.templatetags import i18n_literals
from orderdesk.web.templatetags.i18n_literals import LiteralTranslateNode

# Django's own tags only: what the templates rendered before the fast node.
DJANGO_ONLY = Engine(builtins=["django.templatetags.i18n"])


def test_the_project_templates_use_the_fast_node_for_plain_literals() -> None:
    nodes = project_nodes(LiteralTranslateNode)
    # Hundreds of plain {% translate "…" %} tags; a change that stopped matching them (a new
    # Django node, a settings change) would leave this list empty.
    assert len(nodes) > 300


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_every_literal_renders_as_djangos_tag_renders_it(language: str) -> None:
    nodes = project_nodes(LiteralTranslateNode)
    with translation.override(language):
        for node in nodes:
            source = '{% translate "' + node.msgid.replace("%%", "%") + '" %}'
            expected = DJANGO_ONLY.from_string(source).render(Context())
            assert node.render(Context()) == expected, node.msgid
    if language != "en":
        # The languages have catalogues: some literal changed, or the test compares nothing.
        with translation.override(language):
            assert any(node.render(Context()) != node.msgid for node in nodes)


@pytest.mark.parametrize(
    "source",
    [
        '{% translate "50% off" %}',
        "{% translate \"a < b & 'c'\" %}",
        "{% translate 'Orders' %}",
        '{% translate "Orders" noop %}',
        '{% translate "Orders" as label %}[{{ label }}]',
        '{% translate "May" context "month name" %}',
        '{% translate "orders"|upper %}',
        "{% translate value %}",
        "{% trans 'Orders' %}",
        '{% translate "Orders" %}{% language "fi" %}{% translate "Orders" %}'
        '{% language "sv" %}{% translate "Orders" %}{% endlanguage %}'
        '{% translate "Orders" %}{% endlanguage %}{% translate "Orders" %}',
    ],
)
@pytest.mark.parametrize("language", ["en", "fi", "sv"])
def test_each_form_renders_as_with_djangos_tags(source: str, language: str) -> None:
    fast = engines["django"].from_string(source)
    with translation.override(language):
        expected = DJANGO_ONLY.from_string(source).render(Context({"value": "Orders <b>"}))
        assert fast.render({"value": "Orders <b>"}) == expected


def test_only_the_plain_form_takes_the_fast_node() -> None:
    template = engines["django"].from_string(
        '{% translate "Orders" %}{% translate "Orders" noop %}{% translate value %}'
        '{% translate "Orders" context "menu" %}{% translate "x" as y %}'
    )
    kinds = [type(n) for n in template.template.nodelist]  # type: ignore[attr-defined]
    assert kinds == [LiteralTranslateNode] + [TranslateNode] * 4


def test_a_language_switch_inside_an_extended_template_keeps_its_blocks() -> None:
    engine = engines["django"].engine  # type: ignore[attr-defined]
    base = engine.from_string("[{% block x %}{% endblock %}]")
    child = engine.from_string(
        '{% extends base %}{% block x %}{% translate "Orders" %}'
        '{% language "fi" %}{% translate "Orders" %}{% endlanguage %}{% endblock %}'
    )
    with translation.override("en"):
        assert child.render(Context({"base": base})) == "[OrdersTilaukset]"


def test_a_changed_catalogue_setting_empties_the_table(settings: Any) -> None:
    source = engines["django"].from_string('{% translate "Orders" %}')
    with translation.override("fi"):
        assert source.render({}) == "Tilaukset"
    assert i18n_literals._texts
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]
    assert not i18n_literals._texts


def test_a_changed_catalogue_file_empties_the_table() -> None:
    engines["django"].from_string('{% translate "Orders" %}').render({})
    assert i18n_literals._texts
    file_changed.send(sender=None, file_path=Path("locale/fi/LC_MESSAGES/django.py"))
    assert i18n_literals._texts
    file_changed.send(sender=None, file_path=Path("locale/fi/LC_MESSAGES/django.mo"))
    assert not i18n_literals._texts
