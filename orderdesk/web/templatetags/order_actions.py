"""What the panel's Mark as Completed button says and which dialog options it offers."""

from __future__ import annotations

from django import template

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
