"""What the orders table shows per row, and its HTML, from data loaded beforehand (no queries).

A page renders 50 rows. Through the template engine each row cost about a millisecond (some
forty variable lookups, filters and auto-escapes), so a row is built here as a string in which
every value from the order is escaped; the per-request constants (the time zone, "now", the
query string) are computed once per page instead of once per row.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from orderdesk.lib import formats
from orderdesk.lib.money import country_name
from orderdesk.orders.models import AttentionReason, LineKind, Order, OrderStatus
from orderdesk.payments.methods import METHOD_LABELS, method_label
from orderdesk.payments.models import PaymentStatus, Provider
from orderdesk.workflows.customer import CustomerOrder
from orderdesk.workflows.live import row_version
from orderdesk.workflows.table import TableRow

_KIND_ORDER = {kind: index for index, kind in enumerate(LineKind.values)}


def provider_label(provider: str) -> str:
    try:
        return str(Provider(provider).label)
    except ValueError:
        return provider.capitalize()


def count_label(count: int, capped: bool) -> str:
    """A count from `count_capped`: `10,000+` once it stopped at its cap (`COUNT_CAP`), in the
    active language's digits (`10 000+` in Finnish and Swedish)."""
    return f"{formats.integer(count)}+" if capped else str(count)


def short_time(local: dt.datetime, local_now: dt.datetime, lang: str | None = None) -> str:
    """`14:05` today, `27 Nov` this year, `27 Nov 2025` before (both in the same time zone),
    in the active language (`14.05`, `27.11.`, `27.11.2025` in Finnish)."""
    if local.date() == local_now.date():
        return formats.time(local, lang)
    if local.year == local_now.year:
        return formats.skeleton("MMMd", local, lang)
    return formats.date(local, lang)


@dataclass(frozen=True)
class ProductName:
    name: str
    kind: str
    kind_label: str

    @property
    def is_add_on(self) -> bool:
        return self.kind != LineKind.MAIN


@dataclass(frozen=True)
class OrderRow:
    order: Order
    created_iso: str
    created_short: str
    created_exact: str
    status_label: str
    total: str
    refunded: str
    products: list[ProductName]
    payment: str
    country: str
    url: str
    # The row's words in the page's language, looked up once per page (RowTexts).
    texts: RowTexts
    # Why it requires attention: (reason, label in the page's language).
    attention: tuple[tuple[str, str], ...] = ()
    # The order's version, which the page's live updates compare (workflows.live).
    version: str = ""


@dataclass(frozen=True)
class RowTexts:
    refunded: str  # "−%(amount)s refunded"
    order: str  # "order #%(number)s", for screen readers
    no_email: str
    no_payment: str
    customer_orders: str  # the link to the customer's page
    customer_orders_of: str  # "All orders of %(email)s", for screen readers

    @classmethod
    def active(cls) -> RowTexts:
        return cls(
            refunded=_("−%(amount)s refunded"),
            order=_("order #%(number)s"),
            no_email=_("No email yet"),
            no_payment=_("No payment yet"),
            customer_orders=_("All orders of this customer"),
            customer_orders_of=_("All orders of %(email)s"),
        )


@dataclass(frozen=True)
class PageLabels:
    """Every label a row may show, in one language."""

    texts: RowTexts
    statuses: dict[str, str]
    payment_statuses: dict[str, str]
    kinds: dict[str, str]
    methods: dict[str, str]
    providers: dict[str, str]
    attention: dict[str, str]


# Per language, for the process's life: the catalogues do not change while it runs, and
# looking 40 labels up through gettext cost more than the rows they label.
@lru_cache(maxsize=8)
def _page_labels(lang: str) -> PageLabels:
    with translation.override(lang):
        return PageLabels(
            texts=RowTexts.active(),
            statuses={status.value: str(status.label) for status in OrderStatus},
            payment_statuses={status.value: str(status.label) for status in PaymentStatus},
            kinds={kind.value: str(kind.label) for kind in LineKind},
            methods={method: str(label) for method, label in METHOD_LABELS.items()},
            providers={provider.value: str(provider.label) for provider in Provider},
            attention={reason.value: str(reason.label) for reason in AttentionReason},
        )


class RowPresenter:
    """Builds the rows of one page; what is the same for every row is computed once here."""

    def __init__(self, now: dt.datetime, query: str = "") -> None:
        self.tz = timezone.get_current_timezone()
        self.tz_name = timezone.get_current_timezone_name()
        self.local_now = now.astimezone(self.tz)
        self.wall_now = self.local_now.replace(tzinfo=None)
        # The language once per page: looking it up costs more than formatting from a cache.
        self.lang = formats.language()
        self.number_locale = formats.number_locale(self.lang)
        self.labels = _page_labels(self.lang)
        self.texts = self.labels.texts
        self.query_suffix = f"?{query}" if query else ""
        # reverse() once: the detail URL of every row differs only in the order number.
        placeholder = 987654321
        self.url_pattern = reverse("order_detail", args=[placeholder]).replace(
            str(placeholder), "{}"
        )

    def row(self, row: TableRow) -> OrderRow:
        order, attempt = row.order, row.payment
        ordered = sorted(
            row.products, key=lambda line: (_KIND_ORDER.get(line.kind, 99), line.position)
        )
        payment = ""
        if attempt is not None:
            payment = " · ".join(
                (
                    self.labels.providers.get(attempt.provider) or provider_label(attempt.provider),
                    self.labels.methods.get(attempt.method) or method_label(attempt.method),
                    self.labels.payment_statuses.get(attempt.status, attempt.status),
                )
            )
        local = order.created_at.astimezone(self.tz)
        return OrderRow(
            order=order,
            created_iso=local.isoformat(),
            # Wall-clock values: already in the page's zone, no second conversion per row.
            created_short=short_time(local.replace(tzinfo=None), self.wall_now, self.lang),
            created_exact=f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({self.tz_name})",
            status_label=self.labels.statuses.get(order.status, order.status),
            total=formats.money(order.total_minor, order.currency, self.lang),
            refunded=(
                formats.money(order.refunded_minor, order.currency, self.lang)
                if order.refunded_minor
                else ""
            ),
            products=[
                ProductName(line.name, line.kind, self.labels.kinds.get(line.kind, line.kind))
                for line in ordered
            ],
            payment=payment,
            country=country_name(order.country, self.number_locale),
            url=self.url_pattern.format(order.number) + self.query_suffix,
            texts=self.texts,
            attention=tuple(
                (reason.value, self.labels.attention[reason.value])
                for reason in row.attention_reasons
            ),
            version=row_version(order.updated_at),
        )


# Constant markup, no outside data.
_SELECTED = " is-selected"
_OOB = ' hx-swap-oob="true"'
_MUTED = '<span class="muted">{}</span>'
_NONE = '<span class="muted">—</span>'

# One tab stop per row, the row link (issue 15): the keyboard moves between rows with j/k
# (orders.js). The exact time shows on hover and in the panel; the customer's page is linked
# from the panel too, so the row's own customer link stays out of the tab order.
_ROW = """<tr id="order-row-{number}" class="order-row{selected}" data-number="{number}" data-version="{version}"{oob}>
  <td><input type="checkbox" class="row-select" tabindex="-1" data-number="{number}" aria-label="{order_number}"> <span class="badge status-{status}">{status_label}</span>{attention}</td>
  <td class="created">
    <time datetime="{created_iso}" aria-describedby="created-tip-{number}">{created_short}</time>
    <span class="tooltip" role="tooltip" id="created-tip-{number}">{created_exact}</span>
  </td>
  <td class="customer">
    <a class="row-link" href="{url}" data-order="{number}"
       hx-get="{url}" hx-target="#panel" hx-swap="innerHTML" hx-push-url="true" hx-sync="#panel:replace" hx-indicator="#loading">{customer}<span class="visually-hidden">, {order_number}</span></a>{customer_link}
  </td>
  <td class="num">{total}{refunded}</td>
  <td class="products">{products}</td>
  <td>{payment}</td>
  <td class="source">{source}</td>
  <td>{country}</td>
</tr>"""


def _e(value: object) -> str:
    """`value` as HTML text, escaped as Django's `escape` does.

    Django's `format_html` and `escape` check every argument for lazy translations first; a
    page escapes some 800 values, and that check was most of the rows' cost.
    """
    return html.escape(str(value))


def options_html(choices: Iterable[tuple[str, object]], selected: str | None) -> SafeString:
    """`<option>`s of a filter's select, the one the query names selected. Built here rather
    than by a template loop: eight options cost the orders page some 40 template nodes."""
    return mark_safe(  # noqa: S308 - built from escaped values and constants
        "".join(
            f'<option value="{_e(value)}"{" selected" if value == selected else ""}>{_e(label)}</option>'
            for value, label in choices
        )
    )


def datalist_html(values: Iterable[str]) -> SafeString:
    """A datalist's `<option>`s (suggestions for a text box)."""
    return mark_safe("".join(f'<option value="{_e(value)}">' for value in values))  # noqa: S308


def _product_html(product: ProductName) -> str:
    if not product.is_add_on:
        return f'<span class="product">{_e(product.name)}</span>'
    kind, label, name = _e(product.kind), _e(product.kind_label), _e(product.name)
    return (
        f'<span class="product product-addon"><span class="addon-mark addon-{kind}">{label}</span>'
        f" {name}</span>"
    )


def _source_html(order: Order) -> str:
    tags = order.tags or []
    if not order.source and not tags:
        return _NONE
    source = f'<span class="source-name">{_e(order.source)}</span>\n' if order.source else ""
    return source + "".join(f'<span class="chip">{_e(tag)}</span>' for tag in tags)


@cache
def _customer_url() -> str:
    return reverse("customer") + "?email="


def _customer_link(email: str, texts: RowTexts) -> str:
    """A link to the customer's page beside the email, which opens the order's panel."""
    if not email:
        return ""
    url = _customer_url() + quote(email, safe="@")
    title = _e(texts.customer_orders)
    hidden = _e(texts.customer_orders_of % {"email": email})
    return (
        f'\n    <a class="customer-link" href="{_e(url)}" title="{title}" tabindex="-1">'
        f'<span aria-hidden="true">⋯</span><span class="visually-hidden">{hidden}</span></a>'
    )


def row_html(row: OrderRow, *, selected: bool = False, oob: bool = False) -> SafeString:
    """The row's `<tr>`. Every value that comes from the order goes through `_e`."""
    order, texts = row.order, row.texts
    products = "\n".join(_product_html(product) for product in row.products)
    refunded = ""
    if row.refunded:
        amount_refunded = texts.refunded % {"amount": row.refunded}
        refunded = f'<span class="sub">{_e(amount_refunded)}</span>'
    html_text = _ROW.format(
        number=_e(order.number),
        version=_e(row.version),
        selected=_SELECTED if selected else "",
        oob=_OOB if oob else "",
        status=_e(order.status),
        status_label=_e(row.status_label),
        attention="".join(
            f'\n    <span class="badge attention-reason attention-{_e(reason)}">{_e(label)}</span>'
            for reason, label in row.attention
        ),
        order_number=_e(texts.order % {"number": order.number}),
        created_iso=_e(row.created_iso),
        created_short=_e(row.created_short),
        created_exact=_e(row.created_exact),
        url=_e(row.url),
        customer=_e(order.customer_email)
        if order.customer_email
        else _MUTED.format(_e(texts.no_email)),
        customer_link=_customer_link(order.customer_email, texts),
        total=_e(row.total),
        refunded=refunded,
        products=products or _NONE,
        payment=_e(row.payment) if row.payment else _MUTED.format(_e(texts.no_payment)),
        source=_source_html(order),
        country=_e(row.country or "—"),
    )
    return mark_safe(html_text)  # noqa: S308 - built above from escaped values and constants


_CUSTOMER_ORDER = """<tr>
  <td><a href="{url}">#{number}</a></td>
  <td><span class="badge status-{status}">{status_label}</span></td>
  <td><time datetime="{created_iso}">{created}</time></td>{checkout}
  <td>{offer}</td>
  <td class="num">{total}</td>
  <td class="num">{refunded}</td>
</tr>"""


def customer_order_rows(orders: list[CustomerOrder], *, show_checkout: bool) -> SafeString:
    """The customer's page's order rows, built like the table's (a regular customer has
    hundreds). Amounts repeat (the same offers), so each is formatted once."""
    tz = timezone.get_current_timezone()
    placeholder = 987654321
    url_pattern = reverse("order_detail", args=[placeholder]).replace(str(placeholder), "{}")
    amounts: dict[tuple[int, str], str] = {}
    lang = formats.language()

    def money(amount: int, currency: str) -> str:
        key = (amount, currency)
        if key not in amounts:
            amounts[key] = _e(formats.money(amount, currency, lang))
        return amounts[key]

    rows = []
    for order in orders:
        local = order.created_at.astimezone(tz)
        rows.append(
            _CUSTOMER_ORDER.format(
                url=_e(url_pattern.format(order.number)),
                number=_e(order.number),
                status=_e(order.status),
                status_label=_e(order.status_label),
                created_iso=_e(local.isoformat()),
                created=_e(formats.datetime(local.replace(tzinfo=None), lang)),
                checkout=f"\n  <td>{_e(order.checkout)}</td>" if show_checkout else "",
                offer=_e(order.offer) if order.offer else _NONE,
                total=money(order.total_minor, order.currency),
                refunded=money(order.refunded_minor, order.currency)
                if order.refunded_minor
                else _NONE,
            )
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - built above from escaped values and constants
