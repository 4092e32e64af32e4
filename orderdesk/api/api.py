"""The one JSON API under /api/v1/: its routers, and how every error becomes a response.

Errors are always `{"detail": "<message for people>", "code": "<for programs>"}`; domain
errors are mapped here and nowhere else, so every endpoint answers them the same way.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from orderdesk.api import customers, ingest, orders, recovery, reports, saved_views
from orderdesk.api.auth import TooManyGuesses
from orderdesk.api.errors import InvalidParameters
from orderdesk.lib.lockouts import lockout_minutes
from orderdesk.orders.pricing import PricingError
from orderdesk.orders.services import IngestConflict, IngestError, IngestNotFound
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.payments.providers.base import ProviderError
from orderdesk.payments.refunds import RefundError, RefundKeyReused
from orderdesk.payments.services import MarkPaidRefused
from orderdesk.recovery.jobs import BulkRefused, ConfirmationNeeded
from orderdesk.workflows.customer_data import CountChanged

api = NinjaAPI(
    title="Orderdesk API",
    version="1",
    description="Order management for hosted checkouts. Money is integer minor units plus "
    "an ISO 4217 currency. Errors are `{detail, code}`.",
    urls_namespace="api-v1",
)
api.add_router("/checkout/", ingest.router)
api.add_router("/", orders.router)
api.add_router("/", reports.router)
api.add_router("/", customers.router)
api.add_router("/", recovery.router)
api.add_router("/", saved_views.router)


def error(request: HttpRequest, status: int, detail: str, code: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code}, status=status)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error(
        request, 401, "Missing or unknown key: send `Authorization: Bearer <key>`.", "unauthorized"
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(TooManyGuesses)
def too_many_guesses(request: HttpRequest, exc: TooManyGuesses) -> HttpResponse:
    minutes = lockout_minutes()
    response = error(
        request,
        429,
        f"Too many unknown keys or tokens from your address: try again in {minutes} minutes.",
        "too_many_attempts",
    )
    response["Retry-After"] = str(minutes * 60)
    return response


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for problem in exc.errors:
        # ("body", "body", "email") → "email", ("query", "status") → "status": the name the
        # client sent, as the 400s of api.errors.InvalidParameters say it.
        where = ".".join(
            str(part) for part in problem.get("loc", ()) if part not in ("body", "query")
        )
        problems.append(f"{where}: {problem.get('msg', 'invalid')}" if where else problem["msg"])
    return error(request, 422, "; ".join(problems) or "Invalid input.", "invalid_input")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(request, exc.status_code, str(exc), "bad_request")


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "Not found.", "not_found")


@api.exception_handler(IngestError)
def ingest_error(request: HttpRequest, exc: IngestError) -> HttpResponse:
    if isinstance(exc, IngestNotFound):
        status = 404
    elif isinstance(exc, IngestConflict):
        status = 409
    else:
        status = 422
    return error(request, status, exc.message, exc.code)


@api.exception_handler(PricingError)
def pricing_error(request: HttpRequest, exc: PricingError) -> HttpResponse:
    return error(request, 422, exc.message, exc.code)


@api.exception_handler(TransitionNotAllowed)
def transition_not_allowed(request: HttpRequest, exc: TransitionNotAllowed) -> HttpResponse:
    return error(request, 409, str(exc), "transition_not_allowed")


@api.exception_handler(ProviderError)
def provider_error(request: HttpRequest, exc: ProviderError) -> HttpResponse:
    # The attempt was recorded as failed, so the customer can try again.
    return error(request, 502, exc.message, "provider_error")


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, str(exc) or "Not allowed.", "forbidden")


@api.exception_handler(InvalidParameters)
def invalid_parameters(request: HttpRequest, exc: InvalidParameters) -> HttpResponse:
    return error(request, 400, exc.detail, "invalid_parameters")


@api.exception_handler(RefundError)
def refund_refused(request: HttpRequest, exc: RefundError) -> HttpResponse:
    # Field errors are keyed by order line id: name the line so a client can point at it.
    problems = [
        message if target == "__all__" else f"line {target}: {message}"
        for target, message in exc.field_errors.items()
    ]
    detail = exc.message if problems == [exc.message] else f"{exc.message} {'; '.join(problems)}"
    return error(request, 400, detail, "refund_refused")


@api.exception_handler(MarkPaidRefused)
def mark_paid_refused(request: HttpRequest, exc: MarkPaidRefused) -> HttpResponse:
    return error(request, 409, exc.message, "mark_paid_refused")


@api.exception_handler(RefundKeyReused)
def idempotency_key_reused(request: HttpRequest, exc: RefundKeyReused) -> HttpResponse:
    # Answering with the first refund would tell the client this request was made.
    detail = (
        f"Idempotency-Key {exc.key} was used for refund {exc.refund.pk} with other amounts or "
        "options: send a new key for a new refund."
    )
    return error(request, 409, detail, "idempotency_key_reused")


@api.exception_handler(CountChanged)
def erase_count_changed(request: HttpRequest, exc: CountChanged) -> HttpResponse:
    return error(request, 409, str(exc), "order_count_changed")


@api.exception_handler(ConfirmationNeeded)
def confirmation_required(request: HttpRequest, exc: ConfirmationNeeded) -> HttpResponse:
    detail = f"This job changes {exc.count} orders: send confirm_count {exc.count} to start it."
    return error(request, 409, detail, "confirmation_required")


@api.exception_handler(BulkRefused)
def bulk_refused(request: HttpRequest, exc: BulkRefused) -> HttpResponse:
    status = 409 if exc.code == "idempotency_key_reused" else 400
    return error(request, status, exc.message, exc.code)
