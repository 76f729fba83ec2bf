"""RFC 9457 problem details for every error response, including the framework's own 404/405/422."""

from __future__ import annotations

import json
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

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "rate-limited",
    500: "internal-error",
    502: "upstream-error",
    503: "service-unavailable",
}


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
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
        "instance": instance,
        "request_id": request_id,
    }
    for key, value in (extensions or {}).items():
        body.setdefault(key, value)
    return Response(
        content=json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _public_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the rejected input: it may be a password or a key.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _on_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
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
    # Framework 404/405 carry only the phrase; a route's own HTTPException detail is written for clients.
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(status).phrase else None
    if status == 404 and detail is None:
        detail = "No resource at this path."
    if status == 405 and detail is None:
        detail = f"Method {request.method} is not allowed on this path."
    return problem_response(
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        headers=dict(exc.headers or {}),
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        status=422,
        detail="The request has invalid parameters or body.",
        instance=request.url.path,
        request_id=request_id_of(request),
        extensions={"errors": _public_validation_errors(exc)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, framework HTTP errors and validation errors to problem+json."""
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
