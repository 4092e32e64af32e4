"""`{% translate "literal" %}` rendered from a table of each literal's translations.

Django's `{% translate %}` builds a lazy string for its literal on every render, casts it
(`gettext`, which finds the active language through an `asgiref.local.Local`), and passes
the result through `render_value_in_context` (localize, time zone, escaping) only to find a
safe string: ~55 function calls, about 6 µs, a tag. The orders page renders 83 of them, the
page with an order's panel open 140 (issue 11's benchmark counts every 0.1 ms). For the
plain form, a string literal with no filter, context, `noop` or `as`, this node gives the
same text from a table keyed by language and literal, the language read once per template
rendered (kept in its render context); every other form keeps Django's node.

`{% language %}` switches the language inside a template, so this library's version of it
records the switch in the render context too. The table is emptied when a setting that
changes translations changes (tests), as Django's own caches are.

Settings list this library after `django.templatetags.i18n` in the template builtins, so its
tags are the ones a template without `{% load i18n %}` gets (a template that loads `i18n`
itself gets Django's, which give the same text). `makemessages` reads the tags' text, not
the library, so extraction is unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Node, NodeList, Parser, Token, Variable
from django.template.context import Context
from django.templatetags.i18n import LanguageNode, TranslateNode, do_translate
from django.templatetags.i18n import language as do_language
from django.utils import translation
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString, mark_safe

from orderdesk.web.templatetags.render_once import once_per_render

register = template.Library()

# (language, msgid) -> the text the tag renders.
_texts: dict[tuple[str | None, str], SafeString] = {}
# The render context's key for the language of the template being rendered.
_LANGUAGE = "orderdesk.i18n_literals.language"
_TRANSLATION_SETTINGS = {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "USE_I18N", "INSTALLED_APPS"}


@receiver(setting_changed)
def _forget_texts(*, setting: str, **kwargs: Any) -> None:
    if setting in _TRANSLATION_SETTINGS:
        _texts.clear()


@receiver(file_changed)
def _forget_texts_of_changed_catalogue(*, file_path: Path, **kwargs: Any) -> None:
    # runserver reloads a changed .mo without restarting (Django's own receiver); returns
    # None so that receiver still runs.
    if file_path.suffix == ".mo":
        _texts.clear()


def _language(context: Context) -> str | None:
    return once_per_render(context, _LANGUAGE, translation.get_language)


class LiteralTranslateNode(Node):
    """What `TranslateNode` renders for a literal: its translation, marked safe (a literal
    in a template is the template author's markup, so Django does not escape it either)."""

    child_nodelists = ()

    def __init__(self, msgid: str) -> None:
        # Variable.resolve doubles percent signs before gettext (the catalogues hold them
        # doubled) and TranslateNode.render restores them after. Safe as Django's Variable
        # marks a template's literal: the author's own markup.
        self.msgid = mark_safe(msgid.replace("%", "%%"))  # noqa: S308

    def render(self, context: Context) -> SafeString:
        key = (_language(context), self.msgid)
        text = _texts.get(key)
        if text is None:
            # gettext keeps a safe msgid's translation safe; replace() returns a plain str.
            translated = translation.gettext(self.msgid).replace("%%", "%")
            text = _texts[key] = mark_safe(translated)  # noqa: S308
        return text


class SwitchedLanguageNode(LanguageNode):
    """`{% language %}` that tells the literals inside it the language it switched to."""

    def render(self, context: Context) -> str:
        render_context = context.render_context
        outside = _language(context)
        with translation.override(self.language.resolve(context)):
            # Set in place: a pushed layer would hide the render context's other state
            # (the blocks of an extended template) from the tags inside.
            render_context[_LANGUAGE] = translation.get_language()
            try:
                return self.nodelist.render(context)
            finally:
                render_context[_LANGUAGE] = outside


def _literal(node: TranslateNode) -> str | None:
    """The node's string literal when it is in the plain form, else None."""
    expression = node.filter_expression
    var = expression.var
    if node.noop or node.asvar or node.message_context or expression.filters:
        return None
    if not isinstance(var, Variable) or var.lookups is not None:
        return None
    literal = var.literal
    return literal if isinstance(literal, str) else None


@register.tag("translate")
@register.tag("trans")
def translate(parser: Parser, token: Token) -> Node:
    node = do_translate(parser, token)
    literal = _literal(node)
    return node if literal is None else LiteralTranslateNode(literal)


@register.tag("language")
def language(parser: Parser, token: Token) -> Node:
    node = do_language(parser, token)
    nodelist: NodeList = node.nodelist
    return SwitchedLanguageNode(nodelist, node.language)
