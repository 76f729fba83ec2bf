"""The local runner's HTTP server at the byte level: framing, its own refusals, deadlines, the access log.

Each test talks to the server over a real socket, as the audit that found these did.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

SERVER_READ_TIMEOUT_S = 30  # generous: a loaded machine is slow, and every answer here comes long before


@pytest.fixture
def served(fresh_settings: pytest.MonkeyPatch, migrated: object) -> Iterator[tuple[str, int]]:
    """The runner's server in this process, with short header and body deadlines (1 s)."""
    from tests.conftest import clear_process_caches
    from tests.net import serving_runner

    fresh_settings.setenv("RUNNER_BODY_DEADLINE_S", "1")
    fresh_settings.setenv("RUNNER_HEADER_DEADLINE_S", "1")
    clear_process_caches()
    with serving_runner() as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def _exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection (or stays silent for long)."""
    received = b""
    with socket.create_connection(address, timeout=SERVER_READ_TIMEOUT_S) as raw:
        with contextlib.suppress(OSError):  # the server may close before it has read everything
            raw.sendall(data)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := raw.recv(65536):
                received += chunk
    return received


def _responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every response in ``raw`` (status, lower-cased headers, body), framed by Content-Length."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        out.append((int(status_line.split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def _assert_own_problem(headers: dict[str, str], body: bytes, status: int) -> dict[str, object]:
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    problem = json.loads(body)
    assert problem["status"] == status
    assert str(problem["type"]).startswith("urn:autoindex:problem:")
    return dict(problem)


SMUGGLED = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def test_a_chunked_body_is_refused_and_never_read_as_the_next_request(served: tuple[str, int]) -> None:
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
    raw = _exchange(served, b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
    answers = _responses(raw)
    assert [status for status, _, _ in answers] == [411], raw[:2000]
    _, headers, body = answers[0]
    assert headers["connection"] == "close"
    assert _assert_own_problem(headers, body, 411)["type"] == "urn:autoindex:problem:length-required"


def test_a_large_chunked_body_does_not_get_past_the_body_cap(served: tuple[str, int]) -> None:
    size = 1_100_000
    body = b"%x\r\n" % size + b"a" * size + b"\r\n0\r\n\r\n"
    raw = _exchange(served, b"PUT /v1/portfolios/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert [status for status, _, _ in _responses(raw)] == [411], raw[:2000]


def test_conflicting_content_lengths_are_refused(served: tuple[str, int]) -> None:
    request = b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 500\r\n\r\nhello"
    answers = _responses(_exchange(served, request + SMUGGLED))
    assert [status for status, _, _ in answers] == [400]
    assert answers[0][1]["connection"] == "close"


@pytest.mark.parametrize(
    "headers",
    [f"Content-Length: {11 * 1024 * 1024}", "Content-Length: zz", "Content-Length: +5"],
    ids=["too-large", "not-a-number", "signed"],
)
def test_after_refusing_a_request_the_runner_closes_instead_of_reading_the_body(
    served: tuple[str, int], headers: str
) -> None:
    request = f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n{headers}\r\n\r\n".encode()
    answers = _responses(_exchange(served, request + SMUGGLED))
    assert len(answers) == 1 and answers[0][0] in (400, 413), answers
    assert answers[0][1]["connection"] == "close"


def test_a_body_that_stops_coming_is_408_and_the_connection_closes(served: tuple[str, int]) -> None:
    # Sent whole at once: the rest of the body never comes, and the 1 s body deadline passes.
    answers = _responses(_exchange(served, b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nab"))
    assert [status for status, _, _ in answers] == [408]
    _assert_own_problem(answers[0][1], answers[0][2], 408)
    assert answers[0][1]["connection"] == "close"


def test_the_runner_s_own_problem_never_echoes_unbounded_input(served: tuple[str, int]) -> None:
    path = b"/v1/x" + b"\x01" * 65_400
    raw = _exchange(served, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
    ((status, headers, body),) = _responses(raw)
    assert status == 413
    assert len(body) < 2_000
    problem = _assert_own_problem(headers, body, 413)
    assert problem["type"] == "urn:autoindex:problem:content-too-large"
    instance = str(problem["instance"])
    assert instance.startswith("/v1/x\\x01") and len(instance) <= 201 and "\x01" not in instance


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),
        (b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/2.0\r\n\r\n", 505),
        (b"GET /health\r\n", 505),  # HTTP/0.9: answered with a status line all the same
    ],
    ids=["malformed", "uri-too-long", "too-many-headers", "header-too-long", "http-2", "http-0.9"],
)
def test_malformed_requests_get_the_runner_s_own_problem(
    served: tuple[str, int], request_bytes: bytes, status: int
) -> None:
    raw = _exchange(served, request_bytes)
    assert raw.startswith(b"HTTP/1.1 %d " % status), raw[:300]
    ((_, headers, body),) = _responses(raw)
    problem = _assert_own_problem(headers, body, status)
    assert len(body) < 2_000 and problem["type"] != "about:blank"
    assert headers["connection"] == "close"
    assert b"<html" not in body.lower()


def test_headers_trickled_a_byte_at_a_time_are_cut_off_at_the_deadline(served: tuple[str, int]) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 400
    answer = b""
    with socket.create_connection(served, timeout=SERVER_READ_TIMEOUT_S) as raw:
        raw.settimeout(0.3)
        for byte in head:  # one byte every 0.3 s would take two minutes; the header deadline is 1 s
            with contextlib.suppress(OSError):  # the server may already have closed its side
                raw.sendall(bytes([byte]))
            try:
                answer = raw.recv(65536)
            except TimeoutError:
                continue
            break
        raw.settimeout(SERVER_READ_TIMEOUT_S)
        with contextlib.suppress(OSError):
            while chunk := raw.recv(65536):
                answer += chunk
    ((status, headers, body),) = _responses(answer)
    assert status == 408
    _assert_own_problem(headers, body, 408)
    assert headers["connection"] == "close"


def test_two_requests_on_one_kept_alive_connection_are_both_answered(served: tuple[str, int]) -> None:
    with socket.create_connection(served, timeout=SERVER_READ_TIMEOUT_S) as raw:
        raw.sendall(SMUGGLED + SMUGGLED)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            chunk = raw.recv(65536)
            assert chunk, received
            received += chunk
    assert [status for status, _, _ in _responses(received)] == [200, 200]


@pytest.mark.parametrize("path", ["/v1/assets/AAPL", "/v1/auth/login", "/v1/webhooks", "/v1/index/current"])
def test_options_is_204_with_allow_on_every_route(served: tuple[str, int], path: str) -> None:
    base = f"http://{served[0]}:{served[1]}"
    response = httpx.options(base + path, timeout=SERVER_READ_TIMEOUT_S)
    assert response.status_code == 204, response.text
    allowed = [method.strip() for method in response.headers["allow"].split(",")]
    assert "OPTIONS" in allowed and len(allowed) > 1
    if "GET" in allowed:
        assert "HEAD" in allowed


def test_a_preflight_to_a_proxy_route_is_not_405(served: tuple[str, int]) -> None:
    base = f"http://{served[0]}:{served[1]}"
    preflight = httpx.options(
        f"{base}/v1/index/current",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
        timeout=SERVER_READ_TIMEOUT_S,
    )
    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers  # no origins are configured: refused


def test_the_function_s_allow_matches_the_runner_s(served: tuple[str, int]) -> None:
    base = f"http://{served[0]}:{served[1]}"
    runner_own = httpx.delete(f"{base}/v1/assets", timeout=SERVER_READ_TIMEOUT_S)  # a template route
    function_own = httpx.delete(f"{base}/v1/assets/AAPL", timeout=SERVER_READ_TIMEOUT_S)  # behind {proxy+}
    assert runner_own.status_code == function_own.status_code == 405
    assert runner_own.headers["allow"] == function_own.headers["allow"] == "GET, HEAD, OPTIONS"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(str(record.msg))


def test_the_access_line_escapes_control_characters(served: tuple[str, int]) -> None:
    from autoindex.observability import logger

    lines = _Lines()
    stdlib_logger = logging.getLogger(logger.name)
    stdlib_logger.addHandler(lines)
    try:
        raw = _exchange(served, b"GET /health\x1b[31mFAKE\x1b[0m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finally:
        stdlib_logger.removeHandler(lines)
    assert raw.startswith(b"HTTP/1.1 ")
    access = [message for message in lines.messages if "FAKE" in message]
    assert access, lines.messages
    assert all("\x1b" not in message for message in access)
    assert any("\\x1b[31mFAKE" in message for message in access)
