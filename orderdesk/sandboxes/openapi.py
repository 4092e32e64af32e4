"""Requests checked against a provider's published OpenAPI document (vendored in `provider_specs/`).

The Paytrail sandbox answers 400 to a request its document refuses, as Paytrail would, and the
contract tests validate every request the adapter sends with the same document *closed*
(`closed=True`: no property or `checkout-*` header the document does not name), so an adapter
that sends a field Paytrail never documented fails a test even though Paytrail's open schemas
would let it through.

OpenAPI 3.0 schemas are JSON Schema draft 4 with extra keywords (`example`, `format` names
like `int32`), which draft 4 ignores; the formats Paytrail uses are checked here.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker

SPECS = Path(__file__).resolve().parent / "provider_specs"

# Where Paytrail's README and its OpenAPI document disagree about what a request must hold, the
# sandbox follows the README (its examples are what Paytrail's own SDKs send); see
# docs/payments.md. PaymentRequest.items: the README's table says "Always required for
# Shop-in-Shop payments. Required if VAT calculations are wanted in settlement reports".
README_OPTIONAL = {"paytrail": {"PaymentRequest": frozenset({"items"})}}

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        raise ValueError("not an ISO 8601 date and time")
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
    return True


@FORMATS.checks("email")
def _email(value: object) -> bool:
    if not isinstance(value, str):
        return True
    local, _, domain = value.rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in value)


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


# libyaml's loader when PyYAML has it: 10 ms instead of 80 for Paytrail's part.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def document(provider: str) -> dict[str, Any]:
    """The vendored document of `provider`, as published."""
    text = (SPECS / provider / "openapi.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = dict(yaml.load(text, Loader=_LOADER))  # noqa: S506 (a safe loader)
    return loaded


def prepare(provider: str) -> None:
    """Read the document and build its validators now, not in a request: the first request
    would otherwise spend a fifth of a second on it, and adapters wait one second."""
    for path, methods in document(provider)["paths"].items():
        for method, spec in methods.items():
            ref = Operation(path, method, spec).body_ref
            if ref is not None:
                _validator(provider, ref, closed=False)


def _close(node: Any) -> None:
    """Refuse properties a schema does not name, all the way down.

    A property a schema requires is named too, even when its `properties` leave it out:
    `RefundItem` requires `reference` and describes it nowhere.
    """
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            for name in node.get("required", []):
                node["properties"].setdefault(name, {})
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)


@cache
def _components(provider: str, closed: bool) -> dict[str, Any]:
    components: dict[str, Any] = copy.deepcopy(document(provider)["components"])
    for name, optional in README_OPTIONAL.get(provider, {}).items():
        schema = components["schemas"][name]
        schema["required"] = [f for f in schema.get("required", []) if f not in optional]
    if closed:
        _close(components["schemas"])
    return components


@dataclass(frozen=True)
class Operation:
    path: str  # as in the document: /payments/{transactionId}/refund
    method: str  # lower case
    spec: Mapping[str, Any]

    def parameters(self, where: str) -> dict[str, Mapping[str, Any]]:
        return {
            str(p["name"]).lower(): p for p in self.spec.get("parameters", []) if p["in"] == where
        }

    @property
    def body_ref(self) -> str | None:
        body = self.spec.get("requestBody")
        if not body:
            return None
        return str(body["content"]["application/json"]["schema"]["$ref"])


def operation(provider: str, path: str, method: str) -> Operation:
    return Operation(path, method.lower(), document(provider)["paths"][path][method.lower()])


@cache
def _validator(provider: str, ref: str, *, closed: bool) -> Draft4Validator:
    root = {"$ref": ref, "components": _components(provider, closed)}
    return Draft4Validator(root, format_checker=FORMATS)


def schema_errors(provider: str, ref: str, value: Any, *, closed: bool = False) -> list[str]:
    """What `value` breaks of schema `ref` (e.g. `#/components/schemas/Refund`), one line each."""
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message}"
        for error in sorted(
            _validator(provider, ref, closed=closed).iter_errors(value), key=lambda e: e.path
        )
    ]


def _header_value(value: str, schema: Mapping[str, Any]) -> object:
    """A header's text as the type its schema names (headers are text on the wire)."""
    if schema.get("type") == "integer" and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value


def _header_errors(
    op: Operation, headers: Mapping[str, str], *, closed: bool
) -> Iterator[tuple[str, str]]:
    documented = op.parameters("header")
    for name, value in headers.items():
        name = name.lower()
        parameter = documented.get(name)
        if parameter is None:
            if closed and (name.startswith("checkout-") or name == "signature"):
                yield name, "not a header the document names for this operation"
            continue
        schema = parameter.get("schema", {})
        validator = Draft4Validator(schema, format_checker=FORMATS)
        for error in validator.iter_errors(_header_value(value, schema)):
            yield name, error.message


def request_errors(
    provider: str,
    path: str,
    method: str,
    *,
    headers: Mapping[str, str],
    path_params: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    required_headers: tuple[str, ...] = (),
    closed: bool = False,
) -> list[str]:
    """Everything the request breaks of the document's operation `method path`.

    `required_headers` adds what the README requires but the document leaves optional.
    """
    op = operation(provider, path, method)
    lowered = {k.lower(): v for k, v in headers.items()}
    errors = [f"header {n}: {message}" for n, message in _header_errors(op, lowered, closed=closed)]
    errors += [f"header {name}: missing" for name in required_headers if name not in lowered]
    for parameter in op.parameters("path").values():
        value = (path_params or {}).get(parameter["name"], "")
        validator = Draft4Validator(parameter.get("schema", {}), format_checker=FORMATS)
        errors += [f"path {parameter['name']}: {e.message}" for e in validator.iter_errors(value)]
    ref = op.body_ref
    if ref is None:
        if body:
            errors.append("(body): this operation takes no body")
        return errors
    text = body.decode() if isinstance(body, bytes) else (body or "")
    try:
        value = json.loads(text)
    except ValueError:
        return [*errors, "(body): not JSON"]
    return errors + schema_errors(provider, ref, value, closed=closed)
