"""The app shell's data on every page: who is signed in, their checkouts, the attention counter."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from orderdesk.orders.models import Order, OrderQuerySet
from orderdesk.orders.queries import count_capped
from orderdesk.organizations.roles import MemberAccess
from orderdesk.web.presenters import count_label

if TYPE_CHECKING:
    from orderdesk.web.http import WebRequest


class Navigation:
    """Computed lazily: a page that never shows the counter never runs its query."""

    def __init__(self, request: WebRequest) -> None:
        self.request = request

    @property
    def access(self) -> MemberAccess | None:
        return self.request.access

    def attention_orders(self) -> OrderQuerySet | None:
        """What the Requires attention counter counts (None without a current checkout)."""
        if self.access is None or self.access.current is None:
            return None
        return Order.objects.filter(checkout=self.access.current.checkout).requiring_attention(
            timezone.now()
        )

    @cached_property
    def _attention(self) -> tuple[int, bool]:
        orders = self.attention_orders()
        return (0, False) if orders is None else count_capped(orders)

    def counted_attention(self, counted: tuple[int, bool]) -> None:
        """The counter as a view counted it (`count_capped` of `attention_orders`) in a
        statement of its own: the page shows that instead of counting again."""
        self.__dict__["_attention"] = counted

    @cached_property
    def attention_count(self) -> int:
        return self._attention[0]

    @cached_property
    def attention_label(self) -> str:
        return count_label(*self._attention)

    @property
    def live_poll_seconds(self) -> int:
        return int(settings.LIVE_POLL_SECONDS)

    @property
    def live_counter_every(self) -> int:
        return int(settings.LIVE_COUNTER_EVERY)

    @property
    def read_only(self) -> bool:
        """The member's role on the current checkout only views: the page says so once."""
        access = self.access
        return bool(access and access.current and not access.can_act_on(access.current.checkout.pk))

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        """Nav entries the user's role allows; entries of features not installed are skipped."""
        entries = [("orders", _("Orders")), ("reports", _("Reports"))]
        items = []
        for name, label in entries:
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            items.append({"name": name, "label": label, "url": url})
        return items


def context(request: WebRequest) -> dict[str, Any]:
    """Context processor: `nav` in every template (`request.navigation`, set by the middleware)."""
    return {"nav": request.navigation}
