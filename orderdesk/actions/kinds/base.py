"""The shape of a post-purchase action kind (Kajabi grant, webhook, emails)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from orderdesk.actions.models import ActionRun, ActionSnapshot


class ActionError(Exception):
    """An action failed. Permanent errors (4xx, bad settings) are not retried."""

    def __init__(self, message: str, *, permanent: bool, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.http_status = http_status


@dataclass(frozen=True)
class ActionResult:
    http_status: int | None = None
    detail: str = ""
    # A removal not made because another order of the customer still grants the same access:
    # that order's number.
    kept_by_order: int | None = None


class Kind:
    """One kind of action; `run` must be safe to call twice for the same run."""

    can_revoke: ClassVar[bool] = False
    # Whether it sends the customer an email that staff may resend (kinds/email.py).
    sends_email: ClassVar[bool] = False

    def run(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    def revoke(self, snapshot: ActionSnapshot, run: ActionRun) -> ActionResult:
        raise NotImplementedError(f"{type(self).__name__} cannot revoke")
