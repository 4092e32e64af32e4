"""Stripe's published contract, for the tests: its request schemas and example objects.

`check_request` validates one HTTP request the Stripe SDK sent against the operation of
Stripe's OpenAPI document it calls (`contracts/stripe/spec3-requests.json`, see the README
there) and against stripe-python's typed request params; `published` is Stripe's example of an
object (`sandboxes/published/stripe-fixtures3.json`); `answering` is a local HTTP server that
answers every request with one given body, to feed the adapter Stripe's examples unchanged.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from stripe import params as stripe_params

from orderdesk.sandboxes.stripe import decode_form, published

__all__ = ["ContractViolation", "SentRequest", "answering", "check_request", "published"]

SPEC: dict[str, Any] = json.loads(
    (Path(__file__).parent / "contracts" / "stripe" / "spec3-requests.json").read_text()
)

# The typed params stripe-python generates from today's document, per operation.
TYPED_PARAMS: dict[tuple[str, str], type] = {
    ("post", "/v1/payment_intents"): stripe_params.PaymentIntentCreateParams,
    ("post", "/v1/refunds"): stripe_params.RefundCreateParams,
    ("get", "/v1/refunds"): stripe_params.RefundListParams,
    ("get", "/v1/refunds/{refund}"): stripe_params.RefundRetrieveParams,
}


class ContractViolation(AssertionError):
    """A request Stripe's published document does not allow."""


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: httpx.URL
    body: bytes

    @classmethod
    def of(cls, request: httpx.Request) -> SentRequest:
        return cls(request.method, request.url, request.read())


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The document's path template and operation for a request path ending in /v1/…."""
    found = re.search(r"/v1/.*$", path)
    if found is None:
        raise ContractViolation(f"{path} is not a Stripe v1 path")
    v1 = found.group()
    for template, operations in SPEC["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, v1) and method in operations:
            return template, operations[method]
    raise ContractViolation(f"{method.upper()} {v1} is not an operation Orderdesk may call")


def _valid(value: Any, schema: dict[str, Any]) -> bool:
    return not list(jsonschema.Draft4Validator(schema).iter_errors(value))


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """A form-encoded value (strings, nested dicts) in the types its schema names."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for option in schema[key]:
                coerced = _coerce(value, option)
                if _valid(coerced, option):
                    return coerced
            return value
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        return {k: _coerce(v, properties.get(k, extra)) for k, v in value.items()}
    if kind == "array" and isinstance(value, dict) and all(k.isdigit() for k in value):
        items = schema.get("items", {})
        return [_coerce(value[k], items) for k in sorted(value, key=int)]
    if kind == "integer" and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _problems(name: str, value: Any, schema: dict[str, Any]) -> list[str]:
    coerced = _coerce(value, schema)
    return [f"{name}: {e.message}" for e in jsonschema.Draft4Validator(schema).iter_errors(coerced)]


def check_request(request: SentRequest) -> str:
    """Raise ContractViolation unless the document allows the request; returns the operation."""
    method = request.method.lower()
    template, operation = _operation(method, request.url.path)
    problems: list[str] = []
    declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    query = decode_form(request.url.query.decode())
    for name, value in query.items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not in the document")
        else:
            problems += _problems(name, value, declared[name]["schema"])
    problems += [
        f"required query parameter {name!r} is missing"
        for name, p in declared.items()
        if p.get("required") and name not in query
    ]
    sent = set(query)
    if method == "post":
        schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        body = decode_form(request.body.decode())
        problems += _problems("body", body, schema)
        sent |= set(body)
    elif request.body:
        problems.append(f"a {method.upper()} request has a body")
    typed = TYPED_PARAMS[(method, template)]
    problems += [
        f"{name!r} is not in stripe-python's {typed.__name__}"
        for name in sorted(sent - set(typed.__annotations__))
    ]
    if problems:
        raise ContractViolation(f"{method.upper()} {template}: " + "; ".join(problems))
    return f"{method.upper()} {template}"


@contextmanager
def answering(body: dict[str, Any], status: int = 200) -> Iterator[str]:
    """A local HTTP server answering every request with `body`; yields its base URL."""
    payload = json.dumps(body).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
