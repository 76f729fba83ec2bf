"""The local runner end to end: real handlers behind a real HTTP server, and `autoindex invoke`."""

from __future__ import annotations

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
from tests.net import free_port


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
        for _ in range(100):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    pytest.fail(f"serve exited: {proc.stdout.read().decode() if proc.stdout else ''}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_answers_health_over_http(served: str) -> None:
    response = httpx.get(f"{served}/health", headers={"X-Request-ID": "e2e-1"})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"] == "e2e-1"


def test_serve_reports_readiness_against_the_configured_database(served: str) -> None:
    response = httpx.get(f"{served}/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["kind"] == "postgresql"


def test_serve_sends_unknown_paths_to_the_catch_all(served: str) -> None:
    response = httpx.post(f"{served}/v1/unknown", json={"a": 1})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_serve_handles_concurrent_requests(served: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: httpx.get(f"{served}/health").status_code, range(40)))
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
    assert answer.startswith("HTTP/1.1 400") and "application/problem+json" in answer
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
