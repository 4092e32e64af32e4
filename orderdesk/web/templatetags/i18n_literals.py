"""`{% translate "literal" %}` rendered by one `gettext` call.

Django's `{% translate %}` builds a lazy string for its literal on every render, casts it, and
passes the result through `render_value_in_context` (localize, time zone, escaping) only to
find a safe string: about 6 µs a tag. The orders page renders 83 of them, the page with an
order's panel open 140 (issue 11's benchmark counts every 0.1 ms). For the
plain form, a string literal with no filter, context, `noop` or `as`, this node gives the same
text for ~2 µs; every other form keeps Django's node.

Settings list this library after `django.templatetags.i18n` in the template builtins, so
its `translate` and `trans` tags are the ones a template without `{% load i18n %}` gets
(a template that loads `i18n` itself gets Django's, which gives the same text).
`makemessages` reads the tags' text, not the library, so extraction is unchanged.
"""

from __future__ import annotations

from django import template
from django.template.base import Node, Parser, Token, Variable
from django.template.context import Context
from django.templatetags.i18n import TranslateNode, do_translate
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


class LiteralTranslateNode(Node):
    """What `TranslateNode` renders for a literal: its translation, marked safe (a literal
    in a template is the template author's markup, so Django does not escape it either)."""

    child_nodelists = ()

    def __init__(self, msgid: str) -> None:
        # Variable.resolve doubles percent signs before gettext (the catalogues hold them
        # doubled) and TranslateNode.render restores them after.
        # Safe as Django's Variable marks a template's literal: the author's own markup.
        self.msgid = mark_safe(msgid.replace("%", "%%"))  # noqa: S308

    def render(self, context: Context) -> SafeString:
        # gettext keeps a safe msgid's translation safe; replace() returns a plain str.
        return mark_safe(gettext(self.msgid).replace("%%", "%"))  # noqa: S308


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
