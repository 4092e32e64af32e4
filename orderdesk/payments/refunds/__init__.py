"""Refunds (SPEC F5, and F4's "Also restore refunded data"), one module per verb.

Money leaves the merchant's account here, so every path keeps three promises: a refund is
never made twice (one row per idempotency key, the key goes to the provider), never more than
was paid (amounts are checked under the order lock, counting refunds still pending), and the
books follow what the provider did (an unknown outcome stays pending until the provider says).

- `plan`: `refund_options`, what a refund of an order may do, read once for the dialog and
  re-checked by the request
- `request`: `refund_order`, the intent row under the order lock, the provider call after
  commit, replays and reused keys
- `settle`: `settle_refund` and the books (`book_refund`, `book_payment`)
- `reconcile`: settling refunds left pending: the provider asked (the worker, "Check now")
  or, where it cannot be asked, staff confirming what it did
- `provider_events`: refund notifications, and refunds made in the provider's dashboard
- `restore`: undoing the books of every refund (the order's part in `orders.transitions`)
- `reversal`: a refund the provider reversed after it succeeded: staff decide about access
- `outcome`: a refund's outcome, its tone and the one sentence both interfaces answer with

The names below are the package's public face; import them from here.
"""

from __future__ import annotations

from orderdesk.payments.refunds.errors import ALL, RefundError, RefundKeyReused
from orderdesk.payments.refunds.outcome import Outcome, RefundNotice, refund_notice, refund_outcome
from orderdesk.payments.refunds.plan import (
    EPASSI_NO_INTERFACE_MESSAGE,
    EPASSI_PARTIAL_MESSAGE,
    MANUAL_MESSAGE,
    NOT_AUTOMATIC_MESSAGE,
    UNCHECKED_MESSAGE,
    LineOption,
    RefundOptions,
    RefundRoute,
    refund_options,
)
from orderdesk.payments.refunds.provider_events import apply_refund_event, record_provider_refund
from orderdesk.payments.refunds.reconcile import (
    check_refund,
    confirm_refund,
    reconcile_pending_refunds,
    reconcile_refund,
)
from orderdesk.payments.refunds.request import (
    RefundAnswer,
    RefundRequest,
    refund_order,
    scoped_key,
    valid_key,
)
from orderdesk.payments.refunds.restore import restore_refunded_data
from orderdesk.payments.refunds.reversal import handle_reversed_refund
from orderdesk.payments.refunds.settle import removed_access_snapshots, settle_refund

__all__ = [
    "ALL",
    "EPASSI_NO_INTERFACE_MESSAGE",
    "EPASSI_PARTIAL_MESSAGE",
    "MANUAL_MESSAGE",
    "NOT_AUTOMATIC_MESSAGE",
    "UNCHECKED_MESSAGE",
    "LineOption",
    "Outcome",
    "RefundAnswer",
    "RefundError",
    "RefundKeyReused",
    "RefundNotice",
    "RefundOptions",
    "RefundRequest",
    "RefundRoute",
    "apply_refund_event",
    "check_refund",
    "confirm_refund",
    "handle_reversed_refund",
    "reconcile_pending_refunds",
    "reconcile_refund",
    "record_provider_refund",
    "refund_notice",
    "refund_options",
    "refund_order",
    "refund_outcome",
    "removed_access_snapshots",
    "restore_refunded_data",
    "scoped_key",
    "settle_refund",
    "valid_key",
]
