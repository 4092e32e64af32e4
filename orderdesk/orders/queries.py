"""Reads over orders shared by the web table, the API and the CSV export.

`filter_orders()` applies `OrderFilters` (read from a query string by `orders.forms`) to an
order queryset, `requiring_attention()` (on `Order.objects`) is the "Requires attention" tab,
and `page_orders()` / `count_capped()` page and count the result without ever scanning a
million rows for an OFFSET or an exact COUNT.

Every filter is written so PostgreSQL can answer it from an index (see the indexes on `Order`,
`OrderTag` and the expression indexes of migrations `orders.0003` and `0005`), newest first by
`(created_at, id)`. Names, source, tag and free text are compared folded: without case and
accents (`orders.folding`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields, replace

from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.validators import validate_email
from django.db import connections
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from orderdesk.catalog.models import DiscountCode
from orderdesk.orders.folding import Fold
from orderdesk.orders.models import (
    AttentionReason,
    Order,
    OrderQuerySet,
    OrderTag,
)

PAGE_SIZE = 50
COUNT_CAP = 10_000
# Trigram indexes need three characters; shorter substrings would scan every order.
MIN_SUBSTRING = 3
ORDER_NUMBER = re.compile(r"^#?\s*(\d{1,18})$")
# Words of the free-text box beyond this many are ignored: each costs an index condition.
MAX_WORDS = 6
# A provider's payment id (Stripe pi_…/ch_…, a Paytrail transaction id): long, one word,
# with a digit, `_` or `-`; such a word is looked up among the payments too.
PROVIDER_REFERENCE = re.compile(r"^(?=.*[\d_-])[A-Za-z0-9_-]{8,200}$")

# Order ids whose payments carry a provider reference; given by the layer that owns payments
# (workflows.search), since orders cannot read them.
ReferenceLookup = Callable[[str], list[int]]


@dataclass(frozen=True)
class OrderFilters:
    """Validated filters of the orders table (SPEC F2); empty values mean "any".

    Built from a query string by `orders.forms.OrderFilterForm`.
    `created_from` is inclusive and `created_before` exclusive, both aware datetimes, so the
    caller's time zone decides where a day starts.
    """

    number: int | None = None
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    status: str = ""
    source: str = ""
    tag: str = ""
    discount_code: str = ""
    created_from: dt.datetime | None = None
    created_before: dt.datetime | None = None
    q: str = ""
    requires_attention: bool = False
    # Only the orders that require attention for this reason, e.g. to work through disputes.
    attention_reason: str = ""
    # Only orders with a payment dispute still open.
    disputed: bool = False

    @property
    def is_filtered(self) -> bool:
        return any(
            getattr(self, f.name) not in (None, "", False)
            for f in fields(self)
            if f.name != "requires_attention"
        )


def _looks_like_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def filter_orders(
    qs: OrderQuerySet,
    filters: OrderFilters,
    *,
    checkout_ids: Collection[int] | None = None,
    references: ReferenceLookup | None = None,
    text_index: bool = True,
) -> OrderQuerySet:
    """Apply `filters` to an order queryset that is already scoped to what the caller may see.

    Pass the scope's `checkout_ids` too: tag and discount code lookups then start from the
    per-checkout indexes instead of every checkout's rows. A discount code filter runs one
    small query here to resolve the code.

    Matching rules: number exact; a full email address exact, part of one as a substring;
    first and last name, source and tag exact but folded (no case, no accents); status
    exact; discount code case-insensitive; dates as a half-open range. Free text: an order
    number alone finds that order; otherwise every word must match, in any order, a
    substring of the folded first name, last name or email, or the order number, or (with
    `references`) a provider's payment id.
    """
    if filters.attention_reason:
        # One reason, on either tab: the orders that require attention for it.
        qs = qs.requiring_attention(
            timezone.now(), reason=AttentionReason(filters.attention_reason)
        )
    elif filters.requires_attention:
        qs = qs.requiring_attention(timezone.now())
    if filters.disputed:
        # Implies the attention indexes' condition: the page and count stay on them.
        qs = qs.filter(dispute_open=True)
    if filters.number is not None:
        qs = qs.filter(number=filters.number)
    if filters.email:
        # Emails are stored lower-cased: equality uses the btree index, substrings the
        # trigram index (PostgreSQL).
        if _looks_like_email(filters.email):
            qs = qs.filter(customer_email=filters.email)
        else:
            qs = qs.filter(customer_email__contains=filters.email)
    if filters.first_name:
        qs = qs.alias(first_name_folded=Fold("first_name")).filter(
            first_name_folded=Fold(Value(filters.first_name))
        )
    if filters.last_name:
        qs = qs.alias(last_name_folded=Fold("last_name")).filter(
            last_name_folded=Fold(Value(filters.last_name))
        )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.source:
        qs = qs.alias(source_folded=Fold("source")).filter(
            source_folded=Fold(Value(filters.source))
        )
    if filters.tag:
        tags = OrderTag.objects.filter(folded=Fold(Value(filters.tag)))
        if checkout_ids is not None:
            tags = tags.filter(checkout_id__in=list(checkout_ids))
        qs = qs.filter(pk__in=tags.values("order_id"))
    if filters.discount_code:
        codes = DiscountCode.objects.filter(code__iexact=filters.discount_code)
        if checkout_ids is not None:
            codes = codes.filter(checkout_id__in=list(checkout_ids))
        # Resolved first (a tiny query): with literal ids PostgreSQL's statistics see that
        # an unused code matches nothing, and use the code's index instead of walking
        # every order newest first looking for one.
        code_ids = list(codes.values_list("pk", flat=True))
        if not code_ids:
            return qs.none()
        qs = qs.filter(discount_code_id__in=code_ids)
    if filters.created_from is not None:
        qs = qs.filter(created_at__gte=filters.created_from)
    if filters.created_before is not None:
        qs = qs.filter(created_at__lt=filters.created_before)
    if filters.q:
        number = ORDER_NUMBER.match(filters.q)
        if number is not None:
            # A number alone is what people paste to find one order.
            return qs.filter(number=int(number.group(1)))
        for word in search_words(filters.q):
            qs = qs.filter(_word(word, references, text_index=text_index))
    return qs


def tag_index_ids(
    filters: OrderFilters, checkout_ids: Collection[int]
) -> QuerySet[OrderTag, int] | None:
    """The ids of the checkouts' orders that `filters` keep, newest first by (created_at, id),
    read from the tag index alone; None unless the filters are a tag and nothing else.

    For a whole list of ids (an export), the semi join of `filter_orders` reads the tag's rows
    and every order of the checkout (~0.3 s for the 20,287 orders of a tag on 3 % of a million;
    walking newest first costs as much per order found). Each tag row carries its order's
    checkout and created_at (written with the order by `services.open_order`; an order's tags
    never change), and `ordertag_folded_order` holds them in the table's order, so the same ids
    are one index-only range scan (~3 ms). Same orders as `filter_orders(
    Order.objects.filter(checkout_id__in=checkout_ids), filters, checkout_ids=checkout_ids)`
    ordered by ("-created_at", "-pk"): `orders/tests/test_queries.py` holds the two alike.
    """
    if not filters.tag or replace(filters, tag="") != OrderFilters():
        return None
    return (
        OrderTag.objects.filter(checkout_id__in=list(checkout_ids), folded=Fold(Value(filters.tag)))
        .order_by("-created_at", "-order_id")
        .values_list("order_id", flat=True)
        # Two tags of an order that fold alike ("Event", "event") are two rows with the same
        # created_at: next to each other in this order, so DISTINCT costs a comparison.
        .distinct()
    )


def search_words(q: str) -> list[str]:
    """The words of the free-text box that are searched for."""
    return q.split()[:MAX_WORDS]


def only_text_words(q: str) -> bool:
    """Whether every word of the free text is matched by the text alone: no order number,
    email address or provider id, which have indexes of their own."""
    words = search_words(q)
    return bool(words) and not any(
        ORDER_NUMBER.match(word) or PROVIDER_REFERENCE.match(word) or "@" in word for word in words
    )


def _word(word: str, references: ReferenceLookup | None, *, text_index: bool = True) -> Q:
    """What one word of the free-text box matches; without `text_index`, written so that
    PostgreSQL cannot use the trigram index (see `workflows.table`'s window)."""
    if "@" in word and _looks_like_email(word):
        # Emails are stored lower-cased: a whole one is found through its btree index.
        match = Q(customer_email=word.lower())
    elif text_index:
        match = Q(search_text__contains=Fold(Value(word)))
    else:
        match = Q(GreaterThan(StrIndex("search_text", Fold(Value(word))), 0))
    number = ORDER_NUMBER.match(word)
    if number is not None:
        match |= Q(number=int(number.group(1)))
    # Resolved first, like a discount code: literal ids keep the plan on the indexes.
    if references is not None and PROVIDER_REFERENCE.match(word) and (ids := references(word)):
        match |= Q(pk__in=ids)
    return match


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the (created_at, id) of a row."""

    created_at: dt.datetime
    id: int

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        match = re.fullmatch(r"(-?\d{1,18})_(\d{1,18})", raw)
        if match is None:
            return None
        micros, pk = int(match.group(1)), int(match.group(2))
        try:
            created_at = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError:
            return None
        return cls(created_at=created_at, id=pk)

    @classmethod
    def of(cls, order: Order) -> Cursor:
        return cls(created_at=order.created_at, id=order.pk)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class OrderPage:
    orders: list[Order]
    newer: Cursor | None = None  # pass as `before` to get the newer page
    older: Cursor | None = None  # pass as `after` to get the older page
    is_first: bool = True


def page_orders(
    qs: QuerySet[Order],
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> OrderPage:
    """One page newest first, by keyset on (created_at, id): constant cost at any depth.

    `after` returns the rows older than the cursor; `before` the rows newer than it (the
    previous page). One query of `size + 1` rows tells whether another page exists.
    """
    if before is not None:
        rows = list(
            qs.filter(
                Q(created_at__gt=before.created_at)
                | Q(created_at=before.created_at, id__gt=before.id),
                created_at__gte=before.created_at,
            ).order_by("created_at", "id")[: size + 1]
        )
        has_newer = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        return OrderPage(
            orders=rows,
            newer=Cursor.of(rows[0]) if rows and has_newer else None,
            older=Cursor.of(rows[-1]) if rows else None,
            is_first=not has_newer,
        )
    if after is not None:
        # The plain `<=` bound lets the index scan start at the cursor; the OR breaks ties.
        qs = qs.filter(
            Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id),
            created_at__lte=after.created_at,
        )
    rows = list(qs.order_by("-created_at", "-id")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return OrderPage(
        orders=rows,
        newer=Cursor.of(rows[0]) if rows and after is not None else None,
        older=Cursor.of(rows[-1]) if rows and has_older else None,
        is_first=after is None,
    )


def count_capped(qs: QuerySet[Order], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """The number of orders up to `cap`, and whether there are more than `cap`.

    Counting a LIMITed subquery stops after `cap + 1` rows, so a million orders cost the same
    as ten thousand.
    """
    return counts_capped((qs, cap))[0]


def counts_capped(*counted: tuple[QuerySet[Order], int]) -> list[tuple[int, bool]]:
    """`count_capped` of each (queryset, cap), all in one statement (one round trip).

    The COUNT is written around each LIMITed select: the ORM's aggregation over a sliced
    queryset compiles the query twice over, 0.15 ms more CPU per count."""
    if not counted:
        return []
    alias = counted[0][0].db
    parts, params = [], []
    for qs, cap in counted:
        if qs.db != alias:
            raise ValueError("the counted querysets read different databases")
        capped = qs.order_by().values_list("pk")[: cap + 1]
        try:
            sql, qs_params = capped.query.get_compiler(alias).as_sql()
        except EmptyResultSet:  # `none()`, or a filter nothing can match
            parts.append("0")
            continue
        # The ORM's own SQL, its values as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped)")  # noqa: S608
        params.extend(qs_params)
    with connections[alias].cursor() as db:
        db.execute("SELECT " + ", ".join(parts), params)
        row = db.fetchone()
    return [(min(n, cap), n > cap) for n, (_, cap) in zip(row, counted, strict=True)]
