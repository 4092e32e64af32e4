"""A refund the provider reversed after it succeeded (issue 12): staff decide about access.

`settle.unbook_refund` undid its books and put the order on Requires attention; the access
the refund removed stayed removed. Staff look at the order and either grant that access again
(the customer keeps what they paid for, now that they did not get their money) or leave it
removed (the merchant refunds again or settles with the customer otherwise). Either way the
refund is handled: who and when is kept on it and on the timeline, and the order leaves
Requires attention once no reversed refund of it waits.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.actions.services import restore_access
from orderdesk.lib.money import format_money
from orderdesk.orders import transitions
from orderdesk.orders.events import Actor, EventType, record_event
from orderdesk.organizations.models import User
from orderdesk.payments.models import Refund
from orderdesk.payments.refunds.errors import RefundError
from orderdesk.payments.refunds.settle import removed_access_snapshots


def handle_reversed_refund(refund: Refund, *, restore: bool, by: Actor | User) -> Refund:
    """Record staff's decision about a refund the provider reversed; `restore` grants the
    access it removed again. Sent again, it answers with the refund as it is."""
    actor = Actor.of(by)
    with transaction.atomic():
        order = transitions.lock_order(refund.order)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.provider_reversed_at is None:
            raise RefundError(_("The provider has not reversed this refund."))
        if refund.reversal_handled_at is not None:
            return refund
        snapshots = removed_access_snapshots(order, refund)
        runs = restore_access(order, snapshots=snapshots, actor=actor) if restore else []
        refund.reversal_handled_at = timezone.now()
        refund.reversal_handled_by = actor.label[:254]
        refund.save(update_fields=["reversal_handled_at", "reversal_handled_by"])
        amount = format_money(refund.amount_minor, refund.currency)
        if runs:
            message = f"Reversed refund of {amount} handled: access granted again"
        elif snapshots and not restore:
            message = f"Reversed refund of {amount} handled: access left removed"
        else:
            message = f"Reversed refund of {amount} handled"
        record_event(
            order,
            type=EventType.REFUND_REVERSAL_HANDLED,
            message=message,
            actor=actor,
            data={"refund_id": refund.pk, "restore": restore, "run_ids": [r.pk for r in runs]},
        )
        waiting = order.refunds.filter(
            provider_reversed_at__isnull=False, reversal_handled_at__isnull=True
        ).exists()
        transitions.set_refund_reversal_open(order, waiting)
    return refund
