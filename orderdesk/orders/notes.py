"""Internal notes: what staff write on an order for each other.

A note is a timeline entry of its own type, so it is read wherever the timeline is (the panel,
the staff API) and, like the rest of the timeline, never in anything sent to the customer.
"""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.orders.models import Order, OrderEvent

# The timeline's message column holds the note whole.
NOTE_MAX_LENGTH = 500


class NoteForm(forms.Form):
    """A note's text, stripped: web form and API body alike (Django refuses NUL)."""

    text = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        error_messages={
            "required": _("Write the note first."),
            "max_length": format_lazy(
                _("Keep the note to {count} characters."), count=NOTE_MAX_LENGTH
            ),
        },
    )

    def messages(self) -> dict[str, str]:
        return {name: str(errors[0]) for name, errors in self.errors.items()}


def add_note(order: Order, *, text: str, actor: Actor) -> OrderEvent:
    """Add an internal note (`text` cleaned by `NoteForm`) to the order's timeline."""
    return record_event(order, type=EventType.INTERNAL_NOTE, message=text, actor=actor)
