"""Invoke the template's functions in-process, and serve its HTTP API on 127.0.0.1 like API Gateway."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
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
from autoindex_dev.wire import DeadlineReader, printable

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
BODY_TIMEOUT_S = 5  # per read on the socket; headers and body also have RUNNER_*_DEADLINE_S as a whole
_CHUNK = 64 * 1024
MAX_ECHOED_CHARS = 200  # of the path or of a reason in the runner's own problem: never the whole input
_MAX_LOGGED_REQUEST_LINE = 2_000


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
    from autoindex.web.problems import problem_title, problem_type

    request_id = client_request_id(_header(request_headers, "x-request-id")) or uuid.uuid4().hex
    headers = [(name.decode(), value.decode()) for name, value in security_headers(get_settings().hsts_max_age_s)]
    headers += [("x-request-id", request_id), *(extra or [])]
    if status == 204:
        return status, headers, b""
    title = problem_title(status)
    problem = {"type": problem_type(status), "title": title, "status": status,
               "detail": printable(detail or title, MAX_ECHOED_CHARS), "instance": printable(path, MAX_ECHOED_CHARS),
               "request_id": request_id}  # fmt: skip
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


_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")


def _body_length(handler: BaseHTTPRequestHandler) -> int | tuple[int, str]:
    """How many body bytes follow the headers, or the status and reason to refuse the request with.

    A body is framed by one Content-Length only. ``Transfer-Encoding`` (chunked) is refused with 411
    rather than decoded: a server that ignored it would read the chunks as the next request (request
    smuggling), and every client this runner serves can send Content-Length. Two different lengths
    are ambiguous in the same way and get 400.
    """
    if handler.headers.get_all("transfer-encoding"):
        return 411, "Send the body with a Content-Length; this server takes no Transfer-Encoding."
    values = [part.strip() for value in handler.headers.get_all("content-length") or [] for part in value.split(",")]
    if not values:
        return 0
    if len(set(values)) != 1:
        return 400, "Content-Length is given more than once, with different values."
    if not _CONTENT_LENGTH.fullmatch(values[0]):
        return 400, "Content-Length is not a number."
    length = int(values[0])
    if length > MAX_BODY_BYTES:
        return 413, f"The body is larger than {MAX_BODY_BYTES} bytes."
    return length


def _read_body(handler: BaseHTTPRequestHandler, reader: DeadlineReader) -> bytes | tuple[int, str]:
    """The request body, or the status and reason to refuse it with (as API Gateway would).

    The whole body must arrive within ``RUNNER_BODY_DEADLINE_S``: a client trickling it a byte at
    a time gets 408 instead of holding a thread for ever.
    """
    from autoindex.settings import get_settings

    length = _body_length(handler)
    if isinstance(length, tuple):
        return length
    deadline_s = get_settings().runner_body_deadline_s
    reader.start_phase(deadline_s)
    chunks: list[bytes] = []
    received = 0
    try:
        while received < length:
            try:
                chunk = handler.rfile.read1(min(_CHUNK, length - received))
            except TimeoutError:
                return 408, f"The body did not arrive within {deadline_s:g} s."
            if not chunk:
                return 400, "The body is shorter than its Content-Length."
            chunks.append(chunk)
            received += len(chunk)
    finally:
        reader.start_phase(None)
    return b"".join(chunks)


_MAX_REQUEST_LINE = 65_536
_DEFAULT_DETAILS = {
    400: "The request line or headers are malformed.",
    408: "The request line and headers did not arrive in time.",
    414: f"The request line is longer than {_MAX_REQUEST_LINE} bytes.",
    431: "There are too many headers, or one is too long.",
    505: "Only HTTP/1.0 and HTTP/1.1 are served here.",
}


class _Handler(BaseHTTPRequestHandler):
    runner: Runner  # set on the subclass that serve() makes
    protocol_version = "HTTP/1.1"
    server_version = "autoindex-local"
    timeout = BODY_TIMEOUT_S  # until the first read sets its own
    _reader: DeadlineReader

    def setup(self) -> None:
        super().setup()
        # Reads go through a reader with a deadline per phase; the idle timeout still bounds each read.
        self._reader = DeadlineReader(self.connection, idle_timeout_s=BODY_TIMEOUT_S)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        """Read the request line and headers within ``RUNNER_HEADER_DEADLINE_S``, then dispatch.

        The standard library's loop bounds each read only (one header byte every few seconds
        would hold the connection for ever) and answers a timeout with nothing.
        """
        from autoindex.settings import get_settings

        self._started = time.monotonic()
        self.command, self.path, self.requestline, self.request_version = "", "", "", self.default_request_version
        self.__dict__.pop("headers", None)  # the previous request's, on a kept-alive connection
        deadline_s = get_settings().runner_header_deadline_s
        self._reader.start_phase(deadline_s)
        try:
            self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > _MAX_REQUEST_LINE:
                self.send_error(414)
                return
            if len(self.raw_requestline.split()) == 2:  # HTTP/0.9: no version, and no headers would follow
                self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")
                self.send_error(505)
                return
            if not self.parse_request():  # it has answered (send_error below) and closes
                return
        except TimeoutError:
            self.close_connection = True
            if self._reader.received:  # a request begun and not finished; an idle connection just closes
                self.send_error(408, f"The request line and headers did not arrive within {deadline_s:g} s.")
            return
        finally:
            self._reader.start_phase(None)
        self._dispatch()
        self.wfile.flush()

    def _dispatch(self) -> None:
        body = _read_body(self, self._reader)
        if isinstance(body, tuple):  # refused before any function runs, as API Gateway would
            # The body was not read (or not all of it): what is left must never be taken for a request.
            self.close_connection = True
            status, detail = body
            self._send(*own_response(status, list(self.headers.items()), self.path.split("?")[0], detail=detail))
            return
        status, headers, payload = self.runner.http(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        self._send(status, headers, payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (malformed request line, 414, 431, 505) as the runner's others."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = self.protocol_version  # else no status line nor headers are written
        request_headers = self.__dict__.get("headers")
        detail = message or _DEFAULT_DETAILS.get(code)
        self._send(
            *own_response(
                code,
                list(request_headers.items()) if request_headers is not None else [],
                (self.path or "").split("?")[0],
                detail=detail,
            )
        )

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        if self.close_connection:
            self.send_header("connection", "close")
        # The access line goes out before the answer does: a client that has its answer may stop the server at
        # once, and the line must already be written (a test saw it lost when it came after).
        elapsed_ms = (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000
        line = printable(self.requestline, _MAX_LOGGED_REQUEST_LINE)  # never raw ESC & co. on a terminal
        logger.info(f'{self.client_address[0]} "{line}" {status} {len(payload)} {elapsed_ms:.1f} ms')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one access line per request, written by _send with its duration

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("local api " + printable(format % args, _MAX_LOGGED_REQUEST_LINE))


def _request_handler(runner: Runner) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"runner": runner})


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
