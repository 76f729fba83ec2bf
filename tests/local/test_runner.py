"""The local runner end to end: real handlers behind a real HTTP server, and `autoindex invoke`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from autoindex_dev.loader import load_handler

from tests.lambda_http import ROOT
from tests.net import free_port, wait_until_serving


@pytest.fixture(scope="module")
def served(migrated: object) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoindex_dev.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/health", proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_answers_health_over_http(served: str) -> None:
    response = httpx.get(f"{served}/health", headers={"X-Request-ID": "e2e-1"}, timeout=60)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"] == "e2e-1"


def test_serve_reports_readiness_against_the_configured_database(served: str) -> None:
    response = httpx.get(f"{served}/health/ready", timeout=60)
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["kind"] == "postgresql"


def test_serve_sends_unknown_paths_to_the_catch_all(served: str) -> None:
    response = httpx.post(f"{served}/v1/unknown", json={"a": 1}, timeout=60)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_serve_handles_concurrent_requests(served: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: httpx.get(f"{served}/health", timeout=60).status_code, range(40)))
    assert statuses == [200] * 40


def test_serve_binds_loopback_only(served: str) -> None:
    assert served.startswith("http://127.0.0.1:")


def test_invoke_runs_a_generated_sample_event(migrated: object) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", "invoke", "health"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"


def test_invoke_takes_an_event_file(tmp_path: Path, migrated: object) -> None:
    from autoindex_dev.lambda_events import http_event

    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(http_event(method="GET", path="/health/ready")))
    out = subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", "invoke", "HealthFunction", "--event", str(event_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout)["statusCode"] == 200


def test_loader_keeps_each_function_s_modules_apart(tmp_path: Path) -> None:
    base = tmp_path
    for name in ("one", "two"):
        folder = base / name
        folder.mkdir()
        (folder / "routes.py").write_text(f"NAME = {name!r}\n")
        (folder / "app.py").write_text("from routes import NAME\n\ndef handler(event, context):\n    return NAME\n")
    assert load_handler(base / "one", "app.handler")({}, None) == "one"
    assert load_handler(base / "two", "app.handler")({}, None) == "two"
    assert "routes" not in sys.modules and "app" not in sys.modules


def test_a_body_shorter_than_its_content_length_is_refused_not_waited_for(served: str) -> None:
    import socket as sock_module

    host, port = served.removeprefix("http://").split(":")
    with sock_module.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
        started = time.monotonic()
        answer = raw.recv(4096).decode()
    # The rest never comes: cut off at the body deadline (RUNNER_BODY_DEADLINE_S, 10 s) with 408.
    assert answer.startswith("HTTP/1.1 408") and "application/problem+json" in answer
    assert time.monotonic() - started < 20


def test_oversized_bodies_are_refused(served: str) -> None:
    import socket as sock_module

    host, port = served.removeprefix("http://").split(":")
    with sock_module.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: {11 * 1024 * 1024}\r\n\r\n".encode())
        answer = raw.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")


def test_each_function_gets_engines_of_its_own(migrated: object) -> None:
    # Like separate containers: a compute holding its connection cannot stall another function's read.
    from autoindex.db.engine import engine_scope, write_engine
    from autoindex_dev import runner as runner_module

    seen: dict[str, object] = {}

    def record(name: str) -> Any:
        def handler(event: Any, context: Any) -> None:
            seen[name] = write_engine()

        return handler

    for name in ("IndexFunction", "ComputeJobFunction"):
        runner_module._in_container(name, record(name), {}, None)  # type: ignore[arg-type]
    assert seen["IndexFunction"] is not seen["ComputeJobFunction"]
    with engine_scope("IndexFunction"):
        assert write_engine() is seen["IndexFunction"]
    assert write_engine() is not seen["IndexFunction"]  # outside the runner: the one container's engine


@pytest.fixture
def in_process(fresh_settings: pytest.MonkeyPatch, migrated: object) -> Iterator[str]:
    """The runner's server in this process, with a short body deadline (1 s)."""
    from tests.conftest import clear_process_caches
    from tests.net import serving_runner

    fresh_settings.setenv("RUNNER_BODY_DEADLINE_S", "1")
    clear_process_caches()
    with serving_runner() as base:
        yield base


def _assert_own_headers(response: httpx.Response) -> None:
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_a_known_path_with_another_method_is_405_with_allow(served: str) -> None:
    for method in ("DELETE", "POST", "TRACE", "PROPFIND"):
        response = httpx.request(method, f"{served}/v1/assets", timeout=60)
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"
        assert response.headers["content-type"] == "application/problem+json"
        _assert_own_headers(response)
    assert httpx.get(f"{served}/v1/unknown", timeout=60).status_code == 404  # an unknown path is still the catch-all's


def test_head_is_answered_as_get_without_a_body(served: str) -> None:
    get, head = httpx.get(f"{served}/health", timeout=60), httpx.head(f"{served}/health", timeout=60)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]


def test_options_lists_the_methods_and_a_preflight_reaches_the_function(served: str) -> None:
    plain = httpx.options(f"{served}/health", timeout=60)
    assert plain.status_code == 204 and plain.headers["allow"] == "GET, HEAD, OPTIONS"
    _assert_own_headers(plain)
    preflight = httpx.options(
        f"{served}/v1/index/history",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
        timeout=60,
    )
    # No CORS origins are configured here: the function's CORS policy refuses it; it is not the catch-all's 404.
    assert preflight.status_code != 404
    assert "access-control-allow-origin" not in preflight.headers


def test_the_runner_s_own_refusals_carry_the_security_headers_and_request_id(served: str) -> None:
    import socket as sock_module

    host, port = served.removeprefix("http://").split(":")
    with sock_module.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Request-ID: own-1\r\nContent-Length: zz\r\n\r\n")
        answer = raw.recv(4096).decode().lower()
    assert answer.startswith("http/1.1 400")
    assert "x-request-id: own-1" in answer and "x-content-type-options: nosniff" in answer
    with sock_module.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: {11 * 1024 * 1024}\r\n\r\n".encode())
        too_big = raw.recv(4096).decode().lower()
    assert too_big.startswith("http/1.1 413")
    assert "x-request-id: " in too_big and "x-content-type-options: nosniff" in too_big


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_deadline(in_process: str) -> None:
    import socket as sock_module

    host, port = in_process.removeprefix("http://").split(":")
    with sock_module.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n")
        started = time.monotonic()
        raw.settimeout(0.3)
        answer = ""
        for _ in range(200):  # one byte every 0.3 s would take a minute; the deadline is 1 s
            with contextlib.suppress(OSError):  # the server may already have closed its side
                raw.sendall(b"a")
            try:
                answer = raw.recv(4096).decode()
            except TimeoutError:
                continue
            break
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "x-request-id" in answer.lower() and "application/problem+json" in answer
    assert time.monotonic() - started < 15


def test_serve_prints_one_readable_access_line_per_request(migrated: object) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "AWS_LAMBDA_FUNCTION_NAME")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoindex_dev.cli", "serve"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", proc)
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=10).status_code == 200
        assert httpx.delete(f"http://127.0.0.1:{port}/v1/assets", timeout=10).status_code == 405
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode()
    lines = output.splitlines()
    assert any('"GET /health/ready HTTP/1.1" 200' in line and line.endswith(" ms") for line in lines), output
    assert any('"DELETE /v1/assets HTTP/1.1" 405' in line for line in lines), output
    assert not [line for line in lines if line.lstrip().startswith('{"level"')], output  # no JSON log lines
    assert "Traceback" not in output


def test_a_client_that_goes_away_is_one_line_not_a_traceback(
    migrated: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket as sock_module

    from autoindex_dev.runner import Runner, serve

    runner = Runner.from_file(ROOT / "template.yaml")
    server = serve(runner, port=free_port())
    request = sock_module.socket()  # stands for the connection the handler was serving
    try:
        for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "Connection reset by peer")):
            try:
                raise gone
            except ConnectionError:
                server.handle_error(request, ("127.0.0.1", 50000))  # what socketserver calls when a handler raises
        assert "Traceback" not in capsys.readouterr().err
        try:
            raise ValueError("a real bug")
        except ValueError:
            server.handle_error(request, ("127.0.0.1", 50000))
        assert "Traceback" in capsys.readouterr().err  # anything else still shows its traceback
    finally:
        request.close()
        server.server_close()
        runner.close()
