"""The demo checkout page (issue 16): a customer's hosted checkout, to watch an order's life.

`/c/<checkout id>/<link slug>/` opens a Started order the first time, keeps it in the
customer's session (by its id, never a number in the URL: numbers are sequential), and calls
the services the ingest API calls (`workflows.checkout`, `orders.services`,
`payments.services`): billing → In Progress, payment start → Processing, the provider's
confirmation → Paid, the actions → Completed. Served only where the sandboxes are (the demo,
development, tests): it is how the demo shows the checkout, not a production storefront.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from orderdesk.catalog.models import AddOn, AddOnKind
from orderdesk.lib.urls import query_url
from orderdesk.orders import services
from orderdesk.orders.models import Order, OrderLine, OrderStatus
from orderdesk.orders.pricing import PricingError, VatRow, quote_offer, vat_breakdown
from orderdesk.orders.services import EDITABLE, IngestError, IngestNotFound
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.organizations.models import Checkout
from orderdesk.payments import services as payments
from orderdesk.payments.methods import method_label
from orderdesk.payments.models import Provider, ProviderAccount
from orderdesk.payments.providers.base import ProviderError
from orderdesk.web.checkout_forms import (
    PROVIDER_METHODS,
    AddOnForm,
    BillingForm,
    DiscountForm,
    PaymentForm,
)
from orderdesk.workflows import checkout as checkout_flow

SESSION_KEY = "checkout_page_orders"
# Statuses after which the thank-you page has nothing more to wait for.
SETTLED = frozenset({OrderStatus.COMPLETED, OrderStatus.MARKED_COMPLETED})


def _message(error: IngestError | PricingError) -> str:
    """The customer's sentence for a refused step, in their language (the services' own
    messages are English, written for API clients and the timeline)."""
    messages = {
        "discount_unknown": _("That discount code does not exist."),
        "discount_not_applicable": _("That discount code does not apply to this order."),
        "discount_expired": _("That discount code has expired."),
        "discount_not_yet_valid": _("That discount code is not valid yet."),
        "discount_inactive": _("That discount code is not in use."),
        "discount_used_up": _("That discount code has been used up."),
        "discount_email_limit": _("That discount code has already been used with your email."),
        "discount_currency": _("That discount code does not apply in this currency."),
        "already_upgraded": _("That product is already upgraded on this order."),
        "payment_started": _("Payment has started: this order can no longer change."),
        "amount_mismatch": _(
            "The total changed while you were on this page. Check it and pay again."
        ),
        "provider_not_available": _("That payment method is not available. Choose another."),
        "method_not_available": _("That payment method is not available. Choose another."),
        "invalid_email": _("Enter a valid email address."),
        "invalid_country": _("Choose your country from the list."),
    }
    return messages.get(error.code, _("This change could not be made. Please try again."))


def _served(request: HttpRequest) -> None:
    # The tests switch the sandboxes per test, as the sandboxes' own views do.
    if not settings.SANDBOXES_ENABLED:
        raise Http404("The demo checkout is served only with the sandboxes.")


def _key(checkout_id: int, link: str) -> str:
    return f"{checkout_id}/{link}"


def _session_order(request: HttpRequest, checkout: Checkout, link: str) -> Order | None:
    order_id = request.session.get(SESSION_KEY, {}).get(_key(checkout.pk, link))
    if not isinstance(order_id, int):
        return None
    return (
        Order.objects.select_related("offer", "link", "discount_code")
        .filter(pk=order_id, checkout=checkout)
        .first()
    )


def _remember(request: HttpRequest, order: Order, link: str) -> None:
    orders = dict(request.session.get(SESSION_KEY, {}))
    orders[_key(order.checkout_id, link)] = order.pk
    request.session[SESSION_KEY] = orders


def _current_order(request: HttpRequest, checkout: Checkout, link: str) -> Order:
    """The customer's order on this page; 404 when they have none (opened elsewhere, expired)."""
    order = _session_order(request, checkout, link)
    if order is None:
        raise Http404("No order on this checkout page in this session.")
    return order


@dataclass(frozen=True)
class AddOnChoice:
    add_on: AddOn
    title: str
    product_name: str
    extra_minor: int  # what ticking it adds to the order's total before any discount
    chosen: bool


@dataclass(frozen=True)
class PageModel:
    """What the page shows of one order: its lines, totals, VAT and the add-ons on offer."""

    checkout: Checkout
    link: str
    order: Order
    lines: list[OrderLine]
    vat_rows: list[VatRow]
    bumps: list[AddOnChoice]
    upsells: list[AddOnChoice]
    editable: bool


def _page_model(checkout: Checkout, link: str, order: Order) -> PageModel:
    lines = list(order.lines.order_by("position"))
    chosen = {line.add_on_id for line in lines if line.add_on_id}
    choices: list[AddOnChoice] = []
    if order.offer is not None:
        base = quote_offer(order.offer, order.currency).subtotal_minor
        for add_on in order.offer.add_ons.select_related("product"):
            try:
                with_it = quote_offer(order.offer, order.currency, add_ons=[add_on]).subtotal_minor
            except PricingError:
                continue  # not sold in this currency: not offered
            choices.append(
                AddOnChoice(
                    add_on=add_on,
                    title=add_on.title or add_on.product.name,
                    product_name=add_on.product.name,
                    extra_minor=with_it - base,
                    chosen=add_on.pk in chosen,
                )
            )
    return PageModel(
        checkout=checkout,
        link=link,
        order=order,
        lines=lines,
        vat_rows=vat_breakdown((line.vat_rate, line.total_minor, line.vat_minor) for line in lines),
        bumps=[c for c in choices if c.add_on.kind == AddOnKind.ORDER_BUMP],
        upsells=[c for c in choices if c.add_on.kind == AddOnKind.PRE_UPSELL],
        editable=order.status in EDITABLE,
    )


def _providers(checkout: Checkout) -> list[tuple[str, str]]:
    """The payment choices (`provider:method`, label) of the checkout's enabled accounts."""
    accounts = {
        account.provider: account
        for account in ProviderAccount.objects.filter(
            checkout=checkout, is_enabled=True, provider__in=PROVIDER_METHODS
        )
    }
    choices = []
    if "stripe" in accounts:
        choices.append(("stripe:card", _("Card (Stripe)")))
    if "paytrail" in accounts:
        choices += [
            (f"paytrail:{method}", _("%(method)s (Paytrail)") % {"method": method_label(method)})
            for method in accounts["paytrail"].methods
        ]
    if "epassi" in accounts:
        choices.append(("epassi:epassi", _("Epassi benefit")))
    return choices


def _render(
    request: HttpRequest,
    model: PageModel,
    *,
    billing: BillingForm | None = None,
    payment: PaymentForm | None = None,
    discount: DiscountForm | None = None,
    error: str = "",
    summary_error: str = "",
    status: int = 200,
) -> HttpResponse:
    order = model.order
    providers = _providers(model.checkout)
    context: dict[str, Any] = {
        "page": model,
        "billing_form": billing or BillingForm.for_order(order),
        "payment_form": payment
        or PaymentForm(providers=providers, initial={"total_minor": order.total_minor}),
        "discount_form": discount or DiscountForm(),
        "error": error,
        "summary_error": summary_error,
        "show_payment": order.status in (OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING),
        "retry": request.GET.get("payment") == "failed",
    }
    template = "web/checkout/page.html"
    if request.headers.get("HX-Request") and request.method == "POST":
        # The add-on and discount controls swap the summary (lines, totals) in place.
        template = "web/checkout/_summary.html"
    return render(request, template, context, status=status)


@require_GET
def page(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Open the link's order (Started) once per session, then show it."""
    _served(request)
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    order = _session_order(request, checkout, link)
    if (
        order is not None
        and order.status not in EDITABLE
        and order.status != OrderStatus.PROCESSING
    ):
        order = None  # paid (or gone): opening the link again is a new purchase
    if order is None:
        try:
            order = checkout_flow.open_order(
                checkout, link_slug=link, user_agent=request.headers.get("User-Agent", "")
            )
        except IngestNotFound as error:
            raise Http404(error.message) from None
        except (IngestError, PricingError):
            # Not priceable as configured (no price in the offer's currency): nothing opened.
            return render(
                request,
                "web/checkout/unavailable.html",
                {"page": {"checkout": checkout}},
                status=409,
            )
        _remember(request, order, link)
    return _render(request, _page_model(checkout, link, order))


def _editable_order(request: HttpRequest, checkout_id: int, link: str) -> tuple[Checkout, Order]:
    _served(request)
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    return checkout, _current_order(request, checkout, link)


@require_POST
def add_on(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Tick or clear an order bump or pre-upsell; htmx swaps the summary, else the page."""
    checkout, order = _editable_order(request, checkout_id, link)
    form = AddOnForm(request.POST)
    summary_error = ""
    if not form.is_valid():
        summary_error = _("That add-on is not part of this offer.")
    else:
        change = (
            checkout_flow.add_add_on if form.cleaned_data["chosen"] else checkout_flow.remove_add_on
        )
        try:
            order = change(order, add_on_id=form.cleaned_data["add_on"])
        except (IngestError, PricingError) as error:
            summary_error = (
                _("That add-on is not part of this offer.")
                if error.code == "add_on_not_on_offer"
                else _message(error)
            )
    return _after_change(request, checkout, link, order, summary_error)


@require_POST
def discount(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Apply a discount code or take it off."""
    checkout, order = _editable_order(request, checkout_id, link)
    form = DiscountForm(request.POST)
    summary_error = ""
    if not form.is_valid():
        summary_error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        try:
            if form.cleaned_data["remove"]:
                order = checkout_flow.remove_discount_code(order)
            elif not form.cleaned_data["code"]:
                summary_error = _("Enter a discount code.")
            else:
                order = checkout_flow.apply_discount_code(order, code=form.cleaned_data["code"])
        except (IngestError, PricingError) as error:
            summary_error = _message(error)
    return _after_change(
        request, checkout, link, order, summary_error, discount=form if summary_error else None
    )


def _after_change(
    request: HttpRequest,
    checkout: Checkout,
    link: str,
    order: Order,
    summary_error: str,
    *,
    discount: DiscountForm | None = None,
) -> HttpResponse:
    order.refresh_from_db()
    if not summary_error and not request.headers.get("HX-Request"):
        return redirect("checkout_page:page", checkout_id=checkout.pk, link=link)
    # htmx swaps the summary (its page config swaps a 400 too, with the message in it).
    model = _page_model(checkout, link, order)
    return _render(
        request,
        model,
        discount=discount,
        summary_error=summary_error,
        status=400 if summary_error else 200,
    )


@require_POST
def billing(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Save the billing details: Started → In Progress; then the payment step shows."""
    checkout, order = _editable_order(request, checkout_id, link)
    form = BillingForm(request.POST)
    if not form.is_valid():
        return _render(request, _page_model(checkout, link, order), billing=form, status=400)
    try:
        order = services.save_billing(order, **form.billing())
    except IngestError as error:
        return _render(
            request,
            _page_model(checkout, link, order),
            billing=form,
            error=_message(error),
            status=400,
        )
    return HttpResponseRedirect(
        reverse("checkout_page:page", args=[checkout.pk, link]) + "#payment"
    )


@require_POST
def pay(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Start the payment (In Progress → Processing) and send the customer to the provider."""
    checkout, order = _editable_order(request, checkout_id, link)
    form = PaymentForm(request.POST, providers=_providers(checkout))
    if not form.is_valid():
        return _render(request, _page_model(checkout, link, order), payment=form, status=400)
    provider, method = form.provider_and_method()
    thanks = request.build_absolute_uri(reverse("checkout_page:thanks", args=[checkout.pk, link]))
    try:
        attempt = payments.start_payment(
            order,
            provider=provider,
            method=method,
            amount_minor=form.cleaned_data["total_minor"],
            currency=order.currency,
            # Paytrail's and Epassi's returns come back through our endpoints, then here.
            return_url=thanks,
        )
    except (IngestError, PricingError) as error:
        order.refresh_from_db()
        return _render(
            request,
            _page_model(checkout, link, order),
            payment=form,
            error=_message(error),
            status=400,
        )
    except TransitionNotAllowed:
        order.refresh_from_db()
        message = _("Fill in your details before paying.")
        return _render(
            request, _page_model(checkout, link, order), payment=form, error=message, status=409
        )
    try:
        # The intent row is committed; the provider is called with no transaction open.
        start = payments.hand_payment_to_provider(attempt)
    except ProviderError:
        order.refresh_from_db()
        message = _("The payment service did not answer. No money was taken; please try again.")
        return _render(
            request, _page_model(checkout, link, order), payment=form, error=message, status=502
        )
    if provider == Provider.STRIPE and start.redirect_url:
        # Stripe.js's confirmPayment takes the page's return_url; the sandbox's card page does.
        return HttpResponseRedirect(query_url(start.redirect_url, {"return_url": thanks}))
    if start.form_action:
        # A form the customer posts to the provider: Epassi's payment form, the Paytrail bank
        # they chose (the page has no inline script to send it by itself).
        label = dict(_providers(checkout)).get(f"{provider}:{method}", provider)
        return render(
            request,
            "web/checkout/continue.html",
            {"page": _page_model(checkout, link, attempt.order), "start": start, "provider": label},
        )
    if start.redirect_url:
        return HttpResponseRedirect(start.redirect_url)
    return redirect("checkout_page:thanks", checkout_id=checkout.pk, link=link)


@require_GET
def thanks(request: HttpRequest, checkout_id: int, link: str) -> HttpResponse:
    """Back from the provider: the order's status, polled by htmx until its actions ran."""
    _served(request)
    checkout = get_object_or_404(Checkout, pk=checkout_id)
    order = _current_order(request, checkout, link)
    if order.status in EDITABLE and request.GET.get("redirect_status") == "failed":
        # The card was declined: back to the page, which says so, to try again.
        url = reverse("checkout_page:page", args=[checkout.pk, link])
        return HttpResponseRedirect(f"{url}?payment=failed#payment")
    context = {
        "page": _page_model(checkout, link, order),
        "settled": order.status in SETTLED,
        "waiting": order.status == OrderStatus.PROCESSING,
        "failed": order.status in EDITABLE,
    }
    template = (
        "web/checkout/_status.html"
        if request.headers.get("HX-Request")
        else "web/checkout/thanks.html"
    )
    return render(request, template, context)
