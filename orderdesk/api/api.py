"""The one JSON API under /api/v1/: its routers, and how every error becomes a response.

Errors are always `{"detail": "<message for people>", "code": "<for programs>"}`; domain
errors are mapped here and nowhere else, so every endpoint answers them the same way.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from orderdesk.api import ingest
from orderdesk.orders.pricing import PricingError
from orderdesk.orders.services import IngestConflict, IngestError, IngestNotFound
from orderdesk.orders.transitions import TransitionNotAllowed
from orderdesk.payments.providers.base import ProviderError

api = NinjaAPI(
    title="Orderdesk API",
    version="1",
    description="Order management for hosted checkouts. Money is integer minor units plus "
    "an ISO 4217 currency. Errors are `{detail, code}`.",
    urls_namespace="api-v1",
)
api.add_router("/checkout/", ingest.router)


def error(request: HttpRequest, status: int, detail: str, code: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code}, status=status)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error(
        request, 401, "Missing or unknown key: send `Authorization: Bearer <key>`.", "unauthorized"
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(ValidationError)
def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for problem in exc.errors:
        # ("body", "body", "email") → "email": the location the client knows.
        where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("body",))
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
