"""What a refund request can be refused with; either way nothing was written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils.translation import gettext_noop

if TYPE_CHECKING:
    from orderdesk.payments.models import Refund

ALL = "__all__"
EXPIRED_MESSAGE = gettext_noop("The form has expired: reload it and submit again.")


class RefundError(Exception):
    """A refund that cannot be made as asked; nothing was written.

    `field_errors` maps an order line id (or "__all__") to a message for that field.
    """

    def __init__(
        self, message: str, *, field_errors: Mapping[int | str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[int | str, str] = dict(field_errors or {ALL: message})


class RefundKeyReused(Exception):
    """The idempotency key of an earlier refund came again with other amounts or options.

    Nothing was written. Answering with the earlier refund would tell the caller that what
    it asked for this time was done; each interface says so in its own words.
    """

    def __init__(self, refund: Refund, *, key: str) -> None:
        self.refund = refund
        self.key = key
        super().__init__(
            f"The key {key} was used for refund {refund.pk} with other amounts or options."
        )
