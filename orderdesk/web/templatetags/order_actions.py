"""What the panel's Mark as Completed button says and which dialog options it offers, and
what resending an email action would send."""

from __future__ import annotations

import uuid

from django import template

from orderdesk.actions.models import ActionSnapshot
from orderdesk.actions.services import EmailPreview, can_resend, email_preview
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


@register.simple_tag
def resend_preview(snapshot: ActionSnapshot) -> EmailPreview | None:
    """What resending the action's email would send; None unless it may be resent."""
    return email_preview(snapshot) if can_resend(snapshot) else None


@register.simple_tag
def new_key() -> str:
    """A fresh request key for a dialog: the same dialog posted twice sends once."""
    return uuid.uuid4().hex
