"""Invoke the template's functions in-process, and serve its HTTP API on 127.0.0.1 like API Gateway."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
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
BODY_TIMEOUT_S = 5


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
        """One HTTP request through API Gateway's routing, the function's handler, and back."""
        path, _, raw_query = target.partition("?")
        resolved = self.template.resolve(method, path)
        if resolved is None:  # API Gateway's own answer when nothing matches and there is no $default route
            return 404, [("content-type", "application/json")], b'{"message":"Not Found"}'
        route, params = resolved
        event = http_event(
            method=method,
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
            return 500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
        return http_response(result)


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
    """The request body, or the status and reason to refuse it with (as API Gateway would)."""
    try:
        length = int(handler.headers.get("content-length") or 0)
    except ValueError:
        return 400, "Content-Length is not a number."
    if length < 0:
        return 400, "Content-Length is negative."
    if length > MAX_BODY_BYTES:
        return 413, f"The body is larger than {MAX_BODY_BYTES} bytes."
    try:
        body = handler.rfile.read(length) if length else b""
    except TimeoutError:
        body = b""
    if len(body) != length:
        handler.close_connection = True
        return 400, "The body is shorter than its Content-Length."
    return body


def _request_handler(runner: Runner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "autoindex-local"
        timeout = BODY_TIMEOUT_S  # a client that announces more body than it sends cannot hold a thread

        def _dispatch(self) -> None:
            body = _read_body(self)
            if isinstance(body, tuple):  # refused before any function runs, as API Gateway would
                status, detail = body
                problem = {"type": "about:blank", "title": "Bad Request" if status == 400 else "Content Too Large",
                           "status": status, "detail": detail, "instance": self.path.split("?")[0]}  # fmt: skip
                headers = [("content-type", "application/problem+json")]
                self._send(status, headers, json.dumps(problem).encode())
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

        def __getattr__(self, name: str) -> Any:
            # Every method (GET ... TRACE, PROPFIND) goes to the functions, which answer 405 problem+json
            # where they have no route, rather than the standard library's own HTML 501 page.
            if name.startswith("do_"):
                return self._dispatch
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("local api " + format % args)

    return Handler


def serve(runner: Runner, *, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 only; the caller runs ``serve_forever`` and ``shutdown``."""
    server = ThreadingHTTPServer((LOOPBACK, port), _request_handler(runner))
    server.daemon_threads = True
    return server
