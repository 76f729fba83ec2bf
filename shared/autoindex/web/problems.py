"""RFC 9457 problem details for every error response, including the framework's own 404/405/422."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from autoindex.errors import AppError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:autoindex:problem:"
# An error answer stays small whatever the request was: a few errors, each with short text.
MAX_LISTED_ERRORS = 20
MAX_ERROR_TEXT = 200
MAX_PROBLEM_BYTES = 65_536

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    411: "length-required",
    413: "content-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    431: "header-fields-too-large",
    500: "internal-error",
    501: "not-implemented",
    502: "upstream-error",
    503: "service-unavailable",
    505: "http-version-not-supported",
}


# One title per status whatever raised it (Python's own phrases vary between versions).
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_type(status: int) -> str:
    """The ``type`` URN of a status's problem (the local runner's own answers use it too)."""
    return TYPE_BASE + _SLUGS.get(status, "error")


def problem_title(status: int) -> str:
    return _TITLES.get(status, HTTPStatus(status).phrase)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def problem_response(
    *,
    status: int,
    instance: str,
    request_id: str | None,
    detail: str | None = None,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": TYPE_BASE + (slug or _SLUGS.get(status, "error")),
        "title": title or _TITLES.get(status, phrase),
        "status": status,
        "detail": detail or phrase,
        "instance": instance,
        "request_id": request_id,
    }
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    content = json.dumps(body, separators=(",", ":"), default=str)
    if len(content) > MAX_PROBLEM_BYTES:
        # Never expected (every field is bounded), but an error must never become a large answer.
        body = {key: _clip(value) for key, value in body.items() if key not in (extensions or {})}
        content = json.dumps(body, separators=(",", ":"), default=str)
    return Response(
        content=content,
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ERROR_TEXT:
        return value[:MAX_ERROR_TEXT] + "…"
    return value


_TEXT_LENGTH_RULES = {"too_short": ("min_length", "at least"), "too_long": ("max_length", "at most")}


def _message(err: Any) -> str:
    # A length bound placed after a validator (CleanText's) is checked by pydantic's generic rule, which
    # says "Value should have at least 12 items" even of a password: say characters, as for any string.
    rule = _TEXT_LENGTH_RULES.get(err.get("type") or "")
    bound = (err.get("ctx") or {}).get(rule[0]) if rule else None
    if rule and isinstance(err.get("input"), str) and isinstance(bound, int):
        return f"String should have {rule[1]} {bound} character{'' if bound == 1 else 's'}"
    return str(err.get("msg", ""))


def _public_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Never echo the rejected input: it may be a password or a key. A location may be a key the client
    # chose (an unknown body field), so its parts are clipped like the message.
    return [
        {
            "loc": [_clip(part) for part in err.get("loc", ())][:8],
            "msg": _clip(_message(err)),
            "type": _clip(err.get("type") or RULE_ERROR_TYPE),
        }
        for err in errors[:MAX_LISTED_ERRORS]
    ]


# The `type` of an error a rule of the service found (not the schema): what pydantic names its own rule errors.
RULE_ERROR_TYPE = "value_error"
# The one answer to a body that is not JSON, whatever the parser tripped on (syntax, UTF-8, nesting depth).
JSON_INVALID = {"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}
VALIDATION_DETAIL = "The request has invalid parameters or body."


def validation_problem(
    request: Request,
    errors: Sequence[Any],
    *,
    detail: str = VALIDATION_DETAIL,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """Every 422, whoever refused the request (the schema, a rule of the service, the JSON parser), in one shape."""
    listed = {"errors": _public_validation_errors(errors), "error_count": len(errors)}
    return problem_response(
        status=422,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        headers=headers,
        extensions={**(extensions or {}), **listed},
    )


ROUTE_METHODS = "route_methods"  # app.state: (path regex, methods) of every route, set by the app factory


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this app serves at the request's path, sorted: HEAD with GET, and OPTIONS
    (answered 204 with this list), the same list the local runner names for the template's own routes."""
    routes: list[tuple[re.Pattern[str], set[str]]] = getattr(request.app.state, ROUTE_METHODS, [])
    path = request.scope.get("path", "")
    methods = {method for regex, methods in routes if regex.match(path) for method in methods}
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


async def _on_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if exc.status == 422:
        # A rule's refusal lists its errors like the schema's; one that names no field has an empty loc.
        errors = exc.extensions.get("errors") or [{"loc": [], "msg": exc.detail, "type": RULE_ERROR_TYPE}]
        return validation_problem(
            request, errors, detail=exc.detail, headers=exc.headers or None, extensions=exc.extensions
        )
    return problem_response(
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        # FastAPI answers a body json.loads cannot decode (invalid UTF-8) or nests too deep to parse as a
        # 400 of its own; any other malformed JSON is its 422 json_invalid. A client gets the one answer.
        return validation_problem(request, [JSON_INVALID])
    return _http_problem(request, exc, status)


def _http_problem(request: Request, exc: StarletteHTTPException, status: int) -> Response:
    # Framework 404/405 carry only the phrase; a route's own HTTPException detail is written for clients.
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(status).phrase else None
    if status == 404 and detail is None:
        detail = "No resource at this path."
    if status == 405 and detail is None:
        detail = f"Method {request.method} is not allowed on this path."
    headers = dict(exc.headers or {})
    if status == 405:
        # The router names only the first route that matched the path; Allow lists every route on it.
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            if request.method == "OPTIONS":  # no route takes OPTIONS: it asks which methods this path takes
                return Response(status_code=204, headers=headers)
    return problem_response(
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        headers=headers,
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(request, exc.errors())


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, framework HTTP errors and validation errors to problem+json."""
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
