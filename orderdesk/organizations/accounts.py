"""A staff member's own settings: the UI's language (the browser's when blank) and their
time zone (the organization's when blank)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from orderdesk.organizations.models import User


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this Python knows, sorted; read once per process."""
    return tuple(sorted(zoneinfo.available_timezones()))


def language_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Browser's language")), *settings.LANGUAGES],
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )


class LanguageForm(forms.Form):
    """The header's language menu: the language alone."""

    language = language_field()


class AccountForm(forms.Form):
    """The account page's settings. New per-member settings are fields of this form."""

    language = language_field()
    time_zone = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": _("Choose a time zone from the list.")},
    )

    def __init__(self, *args: object, organization_time_zone: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("The organization's (%(zone)s)") % {"zone": organization_time_zone}),
            *((name, name.replace("_", " ")) for name in time_zone_names()),
        ]


def update_account(user: User, *, language: str, time_zone: str) -> None:
    """Save the member's settings from a valid `AccountForm`; a blank language follows the
    browser's, a blank time zone the organization's."""
    user.language = language
    user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])


def choose_language(user: User, *, language: str) -> None:
    """Save the member's language (from a valid `LanguageForm`); blank follows the browser's."""
    user.language = language
    user.save(update_fields=["language"])
