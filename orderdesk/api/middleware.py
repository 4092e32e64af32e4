"""What every answer under /api/ shares: the `{detail, code}` error body, and no caching.

An unknown path under /api/ is Django's 404 page and a wrong method is django-ninja's plain
"Method not allowed"; a client of the API gets the same JSON shape for those as for the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers

API_PREFIX = "/api/"
ERRORS = {
    404: ("Not found.", "not_found"),
    405: ("This method is not allowed here; see the Allow header.", "method_not_allowed"),
}


def api_error_bodies(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        error = ERRORS.get(response.status_code)
        if (
            error is None
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        detail, code = error
        replaced: HttpResponse = JsonResponse(
            {"detail": detail, "code": code}, status=response.status_code
        )
        if response.has_header("Allow"):
            replaced["Allow"] = response["Allow"]
        return replaced

    return middleware


def api_no_store(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    """Orders, customers and reports: no browser cache or proxy keeps a copy of an answer."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if request.path_info.startswith(API_PREFIX):
            add_never_cache_headers(response)
        return response

    return middleware
