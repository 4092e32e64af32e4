"""A staff member's own settings: their time zone (the organization's when blank).

The language a member reads the UI in belongs here too, beside the time zone, once the UI
speaks more than English.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms

from orderdesk.organizations.models import User


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this Python knows, sorted; read once per process."""
    return tuple(sorted(zoneinfo.available_timezones()))


class AccountForm(forms.Form):
    """The account page's settings. New per-member settings are fields of this form."""

    time_zone = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )

    def __init__(self, *args: object, organization_time_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", f"The organization's ({organization_time_zone})"),
            *((name, name.replace("_", " ")) for name in time_zone_names()),
        ]


def update_account(user: User, *, time_zone: str) -> None:
    """Save the member's settings from a valid `AccountForm`; blank means the organization's."""
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
