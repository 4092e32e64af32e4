"""The orders table's search with what only payments know: a provider's payment id.

`search_orders` is `orders.queries.filter_orders` plus a lookup of free-text words that look
like a provider reference (a Stripe PaymentIntent `pi_…` or charge `ch_…`, a Paytrail
transaction id, an Epassi payment id) among the payment attempts. The web table, its count,
the CSV exports and the staff API all filter through it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db.models import Q, QuerySet

from orderdesk.orders.models import OrderQuerySet
from orderdesk.orders.queries import OrderFilters, filter_orders, tag_index_ids
from orderdesk.payments.models import PaymentAttempt, Provider

# A reference names one payment; a few orders at most share one (none, by the constraint).
MAX_REFERENCE_ORDERS = 20


def orders_with_reference(reference: str) -> list[int]:
    """Ids of the orders with a payment whose provider id (or Stripe charge id) is `reference`."""
    # provider IN (…) lets the (provider, provider_reference) unique index answer.
    match = Q(provider__in=Provider.values, provider_reference=reference) | Q(
        provider=Provider.STRIPE, charge_reference=reference
    )
    return list(
        PaymentAttempt.objects.filter(match)
        .order_by()
        .values_list("order_id", flat=True)[:MAX_REFERENCE_ORDERS]
    )


def search_orders(
    orders: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int],
    text_index: bool = True,
) -> OrderQuerySet:
    """`orders` (already scoped to what the caller may see) matching `filters`."""
    return filter_orders(
        orders,
        filters,
        checkout_ids=checkout_ids,
        references=orders_with_reference,
        text_index=text_index,
    )


def orders_to_export(
    orders: OrderQuerySet, filters: OrderFilters, *, checkout_ids: Collection[int]
) -> tuple[OrderQuerySet, QuerySet[Any, int] | None]:
    """What the orders table's CSV export (web and API) streams: `orders` (already scoped to
    what the caller may see) matching `filters`, newest first as the table lists them, and
    their ids read a cheaper way where one exists (a tag alone: `tag_index_ids`), else None.
    Both go to `reports.exports.orders_csv_response`."""
    matching = search_orders(orders, filters, checkout_ids=checkout_ids)
    return matching.order_by("-created_at", "-pk"), tag_index_ids(filters, checkout_ids)
