"""The OpenAPI document as the server behaves: one problem+json schema for every error an operation can send.

FastAPI documents only its own ``HTTPValidationError`` in ``application/json``; the server answers every
error in ``application/problem+json`` (``web/problems.py``). This rewrites each operation's error responses
from what the route can actually meet: authentication, a body, parameters, the rate limit, the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from autoindex.schemas import COMMA_LIST_MARK
from autoindex.web.problems import MAX_LISTED_ERRORS, PROBLEM_JSON

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from fastapi.dependencies.models import Dependant

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details, as every error response carries them.",
        "type": "object",
        "required": ["type", "title", "status", "detail", "instance", "request_id"],
        "properties": {
            "type": {"type": "string", "description": "urn:autoindex:problem:<slug>"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "description": "the request path"},
            "request_id": {"type": ["string", "null"], "description": "also in the X-Request-ID header"},
            "errors": {
                "type": "array",
                "maxItems": MAX_LISTED_ERRORS,
                "items": {"$ref": "#/components/schemas/ProblemError"},
                "description": (
                    f"Every 422 has it: the first {MAX_LISTED_ERRORS} errors, whether the schema, a rule of the "
                    "service (`type` `value_error`; an empty `loc` when the rule is about the whole request) or "
                    "the JSON parser (`type` `json_invalid`: malformed JSON, invalid UTF-8 or nesting too deep) "
                    "refused the request"
                ),
            },
            "error_count": {"type": "integer", "minimum": 0, "description": "Every 422 has it: how many errors"},
        },
        "additionalProperties": True,
    },
    "ProblemError": {
        "title": "ProblemError",
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid, expired or revoked credentials",
    403: "The caller's role or key scopes do not allow this",
    404: "No such resource",
    405: "Method not allowed on this path",
    409: "Conflict with the current state (e.g. the index is not computed yet)",
    413: "The request body is too large",
    422: "Invalid parameters or body",
    429: "Rate limited",
    503: "A dependency is unavailable; retry after Retry-After seconds",
}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _authenticates(route: APIRoute) -> bool:
    return any(getattr(call, "__module__", "") == "autoindex.auth.deps" for call in _calls(route.dependant))


def _error_statuses(route: APIRoute, operation: dict[str, Any], *, rate_limited: bool) -> set[int]:
    # The body limit applies before routing, so every operation (a GET too) answers 413 to an oversized body.
    statuses = {405, 413, 503}
    if _authenticates(route):
        statuses |= {400, 401, 403}  # 400: a bearer token and an API key at once
    if rate_limited:
        statuses.add(401)  # the public auth routes refuse a wrong password or a dead refresh token
    if (route.methods or set()) - {"GET", "HEAD"}:
        statuses.add(409)  # a write can meet a state it conflicts with (a taken name, a run in progress)
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if operation.get("requestBody"):
        statuses.add(400)
    if rate_limited:
        statuses.add(429)
    # Statuses the route's own declaration names (404, 409) are rewritten to problem+json as well.
    statuses |= {int(code) for code in operation.get("responses", {}) if code.isdigit() and int(code) >= 400}
    if "{" in route.path_format:
        statuses.add(404)
    return statuses


# Refusals of requests the schema cannot rule out, stated on the 422 of every operation that can meet them.
CURSOR_RULE = (
    "A `cursor` is opaque: only a `next_cursor` this list returned, passed back unchanged, is valid. Any other "
    "value (forged, truncated, another list's) is a 422 (`The cursor is not valid; start again without it.`)."
)
RANGE_RULE = (
    "`start` after `end`, or a range wider than INDEX_MAX_RANGE_DAYS (11000 days by default), is a 422 naming "
    "the rule (one field cannot state a bound on two)."
)
# `format: date` / `date-time` cannot state a year range (autoindex.moments).
YEARS_RULE = (
    "A date or moment outside the years 1900..9998 (a moment in UTC) is a 422 naming the field (`must lie "
    "between the years 1900 and 9998`): no stored close or event lies there."
)
_FASTAPI_422 = "Validation Error"
_DATED = {"date", "date-time"}


def _takes_dates(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a schema (its references followed) has a date or date-time anywhere in it."""
    if isinstance(node, list):
        return any(_takes_dates(item, components, seen) for item in node)
    if not isinstance(node, dict):
        return False
    if node.get("format") in _DATED:
        return True
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        return _takes_dates(components.get(ref.rsplit("/", 1)[-1]), components, seen | {ref})
    return any(_takes_dates(value, components, seen) for key, value in node.items() if key != "$ref")


def _validation_description(
    operation: dict[str, Any], existing: dict[str, Any] | None, components: dict[str, Any]
) -> str:
    """The 422's description: the generic one (or the route's own rule) plus the cross-field rules it meets."""
    declared = (existing or {}).get("description")
    parts = [declared if declared and declared != _FASTAPI_422 else _DESCRIPTIONS[422]]
    names = {p.get("name") for p in operation.get("parameters", [])}
    if "cursor" in names:
        parts.append(CURSOR_RULE)
    if {"start", "end"} <= names:
        parts.append(RANGE_RULE)
    inputs = [p.get("schema") for p in operation.get("parameters", [])] + [operation.get("requestBody")]
    if _takes_dates(inputs, components):
        parts.append(YEARS_RULE)
    return "\n\n".join(parts)


def _problem_response(
    status: int, existing: dict[str, Any] | None, operation: dict[str, Any], components: dict[str, Any]
) -> dict[str, Any]:
    if status == 422:
        description = _validation_description(operation, existing, components)
    else:
        description = (existing or {}).get("description") or _DESCRIPTIONS.get(status, "Error")
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
    }
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


def _comma_lists(operation: dict[str, Any]) -> None:
    """A parameter read as one comma-separated string is an ``explode: false`` array (``fields=a,b``)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("schema", {}).pop(COMMA_LIST_MARK, False):
            parameter["style"] = "form"
            parameter["explode"] = False


def problem_openapi(app: FastAPI, routers: Sequence[APIRouter], *, rate_limited: bool) -> dict[str, Any]:
    """The app's document with every error response as problem+json and FastAPI's validation schemas gone."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    routes = {
        (r.path_format, m.lower()): r
        for router in routers
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in r.methods or ()
    }
    components = document.get("components", {}).get("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            route = routes[(path, method)]
            _comma_lists(operation)
            if not _authenticates(route):
                operation["security"] = []  # reachable without credentials
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(route, operation, rate_limited=rate_limited)):
                responses[str(status)] = _problem_response(status, responses.get(str(status)), operation, components)
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(PROBLEM_SCHEMAS)
    return document


def install_problem_openapi(app: FastAPI, routers: Sequence[APIRouter], *, rate_limited: bool) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(app, routers, rate_limited=rate_limited)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
