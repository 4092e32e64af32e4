"""Action kind → the class that runs it, imported only when needed."""

from __future__ import annotations

from django.utils.module_loading import import_string

from orderdesk.actions.kinds.base import Kind
from orderdesk.catalog.models import ActionKind

KINDS: dict[str, str] = {
    ActionKind.KAJABI_GRANT: "orderdesk.actions.kinds.kajabi.KajabiGrant",
    ActionKind.WEBHOOK: "orderdesk.actions.kinds.webhook.Webhook",
    ActionKind.SEND_RECEIPT: "orderdesk.actions.kinds.email.SendReceipt",
    ActionKind.CUSTOM_EMAIL: "orderdesk.actions.kinds.email.CustomEmail",
}


def get_kind(kind: str) -> Kind:
    try:
        path = KINDS[kind]
    except KeyError:
        raise LookupError(f"Unknown action kind {kind!r}") from None
    cls: type[Kind] = import_string(path)
    return cls()


def can_revoke(kind: str) -> bool:
    return kind in KINDS and type(get_kind(kind)).can_revoke
