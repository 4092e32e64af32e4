"""Property-based fuzzing of the JSON API from its own OpenAPI schema (schemathesis).

Every operation gets valid and invalid requests, sent in-process through Django's WSGI app
with a real ingest key or staff token. Whatever comes in, the answer is never a 5xx, every 4xx carries
the `{detail, code}` body that api.api promises, and a refused request changes nothing. Deterministic (fixed derandomized examples),
so a CI failure reproduces locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.schemas import OpenApiSchema

from orderdesk.api.api import api
from orderdesk.catalog.models import CheckoutLink
from orderdesk.orders.models import OrderStatus
from orderdesk.organizations.models import ApiToken, CheckoutRole
from orderdesk.testing import factories
from orderdesk.testing.assertions import database_state

# Per operation and mode (positive, negative): 36 runs, the file in under a minute.
# FUZZ_EXAMPLES=2000 for a deep run by hand; the default keeps the suite quick.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
PREFIX = "/api/v1/"


class InProcessApp:
    """Django's WSGI app for a test that holds the database in its own transaction.

    A real request start closes "old" connections, which here is the test's open transaction;
    Django's own test client skips that the same way.
    """

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@dataclass
class ApiWorld:
    ingest_key: str
    staff_token: str
    link: CheckoutLink
    order_numbers: list[int]


@pytest.fixture
def api_world(world: factories.World) -> ApiWorld:
    orders = [
        factories.order(world, status=status)
        for status in (OrderStatus.STARTED, OrderStatus.IN_PROGRESS, OrderStatus.PAID)
    ]
    factories.discount_code(world.checkout)
    _token, staff_token = ApiToken.issue(
        checkout=world.checkout, name="fuzz", role=CheckoutRole.CUSTOMER_SERVICE
    )
    return ApiWorld(world.ingest_key, staff_token, world.link, [o.number for o in orders])


@pytest.fixture
def api_schema(api_world: ApiWorld) -> OpenApiSchema:
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}openapi.json", InProcessApp())
    # NUL is valid JSON but not storable in PostgreSQL: exactly the input to try.
    schema.config.generation.update(allow_x00=True)
    return schema


def check_answer(status: int, body: bytes, label: str) -> None:
    assert status < 500, f"{label}: {status} {body[:2000]!r}"
    if 400 <= status < 500:
        try:
            error = json.loads(body)
        except ValueError:
            pytest.fail(f"{label}: {status} without a JSON body: {body[:500]!r}")
        assert isinstance(error, dict), f"{label}: {status} {error!r}"
        assert set(error) == {"detail", "code"}, f"{label}: {status} {error!r}"
        for key in ("detail", "code"):
            assert isinstance(error[key], str), f"{label}: {error!r}"
            assert error[key], f"{label}: {error!r}"


# Collected from the schema itself, so a new endpoint is fuzzed without touching this file.
OPERATIONS = [
    (method.upper(), path)
    for path, item in api.get_openapi_schema(path_prefix=PREFIX)["paths"].items()
    for method in item
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_never_answers_5xx_and_errors_are_detail_and_code(
    api_schema: OpenApiSchema,
    api_world: ApiWorld,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    # Each operation with its own kind of credential: the checkout's key or a staff token.
    schemes = {name for entry in operation.definition.raw.get("security", []) for name in entry}
    key = api_world.staff_token if "StaffToken" in schemes else api_world.ingest_key
    auth = {"Authorization": f"Bearer {key}"}

    @given(
        case=operation.as_strategy(generation_mode=mode),
        number=st.sampled_from(api_world.order_numbers),
        known=st.booleans(),
    )
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case[Any], number: int, known: bool) -> None:
        # Random numbers and slugs mostly miss; half the cases address a real order and link
        # so the checks behind the lookup are fuzzed too.
        if known and case.path_parameters and "number" in case.path_parameters:
            case.path_parameters["number"] = number
        if known and isinstance(case.body, dict) and "link" in case.body:
            case.body["link"] = api_world.link.slug
        label = f"{method} {case.formatted_path} query={case.query!r} body={case.body!r}"
        before = database_state()
        response = case.call(headers=auth)
        check_answer(response.status_code, response.content, label)
        if response.status_code >= 400:
            assert database_state() == before, f"{label}: refused, yet the database changed"

    fuzz()
