"""What the panel's Mark as Completed button says and which dialog options it offers, and
whether an email action may be resent."""

from __future__ import annotations

import uuid

from django import template

from orderdesk.actions.services import can_resend
from orderdesk.workflows.completion import CompletionChoices, completion_choices
from orderdesk.workflows.panel import OrderDetails

register = template.Library()


@register.simple_tag
def mark_completed_choices(details: OrderDetails) -> CompletionChoices | None:
    """From the panel's loaded details, so the button costs no query."""
    return completion_choices(
        details.order,
        action_statuses=[s.status for s in details.actions],
        refund_statuses=[r.status for r in details.refunds],
    )


register.filter("can_resend", can_resend)


@register.simple_tag
def new_key() -> str:
    """A fresh request key for a dialog: the same dialog posted twice sends once."""
    return uuid.uuid4().hex
