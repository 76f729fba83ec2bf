"""One pure-ASGI middleware for what every response needs: request id, security and rate-limit headers, a 500."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from autoindex.observability import client_request_id, logger
from autoindex.web.problems import problem_response
from autoindex.web.unavailable import RETRY_AFTER_S, dependency_unavailable

RATE_LIMIT_HEADERS = "rate_limit_headers"  # set in request state by autoindex.web.ratelimit

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"


def security_headers(hsts_max_age_s: int) -> list[tuple[bytes, bytes]]:
    """Headers for a JSON API that no browser should frame, sniff or cache across origins."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        (b"cross-origin-resource-policy", b"same-site"),
    ]
    if hsts_max_age_s:
        headers.append((b"strict-transport-security", f"max-age={hsts_max_age_s}; includeSubDomains".encode()))
    return headers


def merged_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with one Vary naming each field once.

    Routes that answer conditionally set ``Vary: Accept-Encoding`` themselves (a 304 or a small body is
    never compressed, yet a cache must still key on it), and the gzip middleware appends the same name
    again to a body it compresses.
    """
    names: dict[bytes, bytes] = {}
    for name, value in headers:
        if name.lower() == b"vary":
            for token in value.split(b","):
                if token.strip():
                    names.setdefault(token.strip().lower(), token.strip())
    if not names:
        return headers
    kept = [(name, value) for name, value in headers if name.lower() != b"vary"]
    return [*kept, (b"vary", b", ".join(names.values()))]


def _resolve_request_id(scope: Scope) -> str:
    incoming = None
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            incoming = client_request_id(value.decode("latin-1"))
            break
    if incoming:
        return incoming
    event = scope.get("aws.event") or {}
    gateway_id = (event.get("requestContext") or {}).get("requestId")
    return str(gateway_id) if gateway_id else uuid.uuid4().hex


class RequestContextMiddleware:
    """Sets ``request.state.request_id``, echoes it as X-Request-ID, adds security headers, and turns
    any exception that escaped the app into a problem+json 500 whose body says nothing internal."""

    def __init__(self, app: ASGIApp, *, hsts_max_age_s: int) -> None:
        self.app = app
        self.extra_headers = security_headers(hsts_max_age_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _resolve_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        logger.set_correlation_id(request_id)
        started = False
        head = scope.get("method") == "HEAD"
        if head:  # routed as GET (the routes name GET only, and Allow lists HEAD with it); the body is dropped below
            scope = {**scope, "method": "GET"}

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = merged_vary(list(message.get("headers", [])))
                present = {name.lower() for name, _ in headers}
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.extend(h for h in self.extra_headers if h[0] not in present)
                limits = scope["state"].get(RATE_LIMIT_HEADERS) or {}
                headers.extend(
                    (name.lower().encode(), value.encode())
                    for name, value in limits.items()
                    if name.lower().encode() not in present
                )
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}  # HEAD: GET's status and headers, no body
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            where = {"path": scope.get("path"), "method": scope.get("method")}
            if dependency_unavailable(exc):
                # Not a bug: the database is down, saturated or slow. The message may name hosts, so only the type.
                logger.warning("dependency unavailable", extra={**where, "error": type(exc).__name__})
                response = problem_response(
                    status=503,
                    detail="A service this request needs is unavailable. Retry after a few seconds.",
                    instance=str(scope.get("path", "")),
                    request_id=request_id,
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
            else:
                logger.exception("unhandled exception", extra=where)
                response = problem_response(
                    status=500,
                    detail="An unexpected error occurred. Quote the request id when reporting it.",
                    instance=str(scope.get("path", "")),
                    request_id=request_id,
                )
            if started:
                return  # the status line is gone; the log has the rest
            await response(scope, receive, send_with_headers)
