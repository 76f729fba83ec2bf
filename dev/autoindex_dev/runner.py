"""Invoke the template's functions in-process, and serve its HTTP API on 127.0.0.1 like API Gateway."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from autoindex.observability import logger

from autoindex_dev.lambda_events import LocalContext, http_event
from autoindex_dev.loader import load_handler
from autoindex_dev.template import Template, load_template

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
BODY_TIMEOUT_S = 5  # per read on the socket; the whole body also has RUNNER_BODY_DEADLINE_S
_CHUNK = 64 * 1024
_TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           413: "Content Too Large", 500: "Internal Server Error"}  # fmt: skip


def _container_thread() -> None:
    # Mangum runs the app on the thread's current event loop, as on Lambda's single main thread.
    asyncio.set_event_loop(asyncio.new_event_loop())


class Runner:
    """One warm "container" per function, with database engines and pools of its own.

    Events (jobs, ``invoke``) run on the function's single thread, one at a time, as a Lambda
    execution environment serves them. HTTP requests run on the server's thread for the request,
    several at once per function as Lambda would scale out; the app's concurrency limit
    (``MAX_CONCURRENT_REQUESTS``) sheds the excess with 503 rather than queueing it.
    """

    def __init__(self, template: Template) -> None:
        self.template = template
        self._containers: dict[str, ThreadPoolExecutor] = {}
        self._guard = threading.Lock()

    def _container(self, logical_id: str) -> ThreadPoolExecutor:
        with self._guard:
            if logical_id not in self._containers:
                self._containers[logical_id] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=logical_id, initializer=_container_thread
                )
            return self._containers[logical_id]

    def close(self) -> None:
        for container in self._containers.values():
            container.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def from_file(cls, path: Path) -> Runner:
        return cls(load_template(path))

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        fn = self.template.function(function)
        handler = load_handler(fn.code_uri, fn.handler)
        context = LocalContext(function_name=fn.logical_id, memory_limit_in_mb=fn.memory_mb, timeout_s=fn.timeout_s)
        return self._container(fn.logical_id).submit(_in_container, fn.logical_id, handler, event, context).result()

    def invoke_here(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke on the calling thread, with an event loop of its own (HTTP: many at once per function)."""
        from autoindex.settings import get_settings

        fn = self.template.function(function)
        handler = load_handler(fn.code_uri, fn.handler)
        context = LocalContext(function_name=fn.logical_id, memory_limit_in_mb=fn.memory_mb, timeout_s=fn.timeout_s)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            # Up to the concurrency limit, each request in flight may hold a connection of the function's pool.
            overflow = max(get_settings().max_concurrent_requests - 1, 0)
            return _in_container(fn.logical_id, handler, event, context, max_overflow=overflow)
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def http(
        self, *, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One HTTP request through API Gateway's routing, the function's handler, and back.

        HEAD is answered as GET (the server sends no body). A path whose only routes are for other
        methods gets 405 with ``Allow`` (not the catch-all's 404); OPTIONS gets ``Allow``, and a CORS
        preflight goes to the function of the route it asks about, whose CORS policy answers it.
        """
        path, _, raw_query = target.partition("?")
        asked = method.upper()
        routed = "GET" if asked == "HEAD" else asked
        if asked == "OPTIONS":
            wanted = _header(headers, "access-control-request-method")
            if wanted and _header(headers, "origin"):
                routed = wanted.upper()
            else:
                allowed = self.template.allowed_methods(path)
                if allowed:
                    return own_response(204, headers, path, extra=[("allow", ", ".join(allowed))])
        resolved = self.template.resolve(routed, path)
        if resolved is None or resolved[0].path == "$default":
            allowed = self.template.allowed_methods(path)
            if allowed and routed not in allowed:
                detail = f"{asked} is not allowed here; use one of {', '.join(allowed)}."
                return own_response(405, headers, path, detail=detail, extra=[("allow", ", ".join(allowed))])
        if resolved is None:  # API Gateway's own answer when nothing matches and there is no $default route
            return own_response(404, headers, path, detail="No route matches this path.")
        route, params = resolved
        event = http_event(
            method="OPTIONS" if asked == "OPTIONS" else routed,
            path=path,
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            route_key=route.route_key,
            path_parameters=params or None,
        )
        try:
            result = self.invoke_here(route.function, event)
        except Exception:
            logger.exception("function failed", extra={"function": route.function})
            return own_response(500, headers, path, detail="The function failed; the server log has the details.")
        return http_response(result)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def own_response(
    status: int,
    request_headers: list[tuple[str, str]],
    path: str,
    *,
    detail: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An answer of the runner itself (as API Gateway's own): problem+json, the security headers and a request id."""
    from autoindex.observability import client_request_id
    from autoindex.settings import get_settings
    from autoindex.web.middleware import security_headers

    request_id = client_request_id(_header(request_headers, "x-request-id")) or uuid.uuid4().hex
    headers = [(name.decode(), value.decode()) for name, value in security_headers(get_settings().hsts_max_age_s)]
    headers += [("x-request-id", request_id), *(extra or [])]
    if status == 204:
        return status, headers, b""
    title = _TITLES.get(status, "Error")
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail or title,
               "instance": path, "request_id": request_id}  # fmt: skip
    return status, [("content-type", "application/problem+json"), *headers], json.dumps(problem).encode()


def _in_container(
    name: str, handler: Any, event: dict[str, Any], context: LocalContext, *, max_overflow: int | None = None
) -> Any:
    from autoindex.db.engine import engine_scope

    with engine_scope(name, max_overflow=max_overflow):
        return handler(event, context)


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Turn a v2.0 handler result into status, headers and body, as API Gateway does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("set-cookie", cookie) for cookie in result.get("cookies") or []]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    return int(result["statusCode"]), headers, body


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | tuple[int, str]:
    """The request body, or the status and reason to refuse it with (as API Gateway would).

    The whole body must arrive within ``RUNNER_BODY_DEADLINE_S``: a client trickling it a byte at
    a time gets 408 instead of holding a thread for ever.
    """
    from autoindex.settings import get_settings

    try:
        length = int(handler.headers.get("content-length") or 0)
    except ValueError:
        return 400, "Content-Length is not a number."
    if length < 0:
        return 400, "Content-Length is negative."
    if length > MAX_BODY_BYTES:
        return 413, f"The body is larger than {MAX_BODY_BYTES} bytes."
    deadline_s = get_settings().runner_body_deadline_s
    deadline = time.monotonic() + deadline_s
    chunks: list[bytes] = []
    received = 0
    while received < length:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            handler.connection.settimeout(remaining)  # each read may only use what is left of the deadline
            chunk = handler.rfile.read1(min(_CHUNK, length - received))
        except TimeoutError:
            handler.close_connection = True
            return 408, f"The body did not arrive within {deadline_s:g} s."
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    handler.connection.settimeout(BODY_TIMEOUT_S)
    if received != length:
        handler.close_connection = True
        return 400, "The body is shorter than its Content-Length."
    return b"".join(chunks)


def _request_handler(runner: Runner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "autoindex-local"
        timeout = BODY_TIMEOUT_S  # a client that announces more body than it sends cannot hold a thread

        def _dispatch(self) -> None:
            self._started = time.monotonic()
            body = _read_body(self)
            if isinstance(body, tuple):  # refused before any function runs, as API Gateway would
                status, detail = body
                self._send(*own_response(status, list(self.headers.items()), self.path.split("?")[0], detail=detail))
                return
            status, headers, payload = runner.http(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            self._send(status, headers, payload)

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            elapsed_ms = (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000
            logger.info(f'{self.client_address[0]} "{self.requestline}" {status} {len(payload)} {elapsed_ms:.1f} ms')

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # one access line per request, written by _send with its duration

        def __getattr__(self, name: str) -> Any:
            # Every method (GET ... TRACE, PROPFIND) goes to the functions, which answer 405 problem+json
            # where they have no route, rather than the standard library's own HTML 501 page.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("local api " + format % args)

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-answer is a line in the log, not a traceback on the terminal."""
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.info(f"{client_address[0]} went away ({type(error).__name__})")
            return
        super().handle_error(request, client_address)


def serve(runner: Runner, *, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 only; the caller runs ``serve_forever`` and ``shutdown``."""
    server = _Server((LOOPBACK, port), _request_handler(runner))
    server.daemon_threads = True
    return server
