"""The dashboard in a real browser: a server started like `make run` (its own port, the session's own
PostgreSQL database and the test Redis), demo prices refreshed once, and `web/tests/e2e.mjs` driving the
system Chromium through playwright-core. The script runs once per session; each test reads its report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from autoindex.settings import DEFAULT_RATE_LIMIT_POLICIES

from tests.lambda_http import ROOT
from tests.net import free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
# One person clicking through every page in a minute stays under `default`; the script is faster than a person.
# Registration's budget (5 an hour per address) would also carry over between runs in the same hour, since
# the counters live in the test Redis: these tests are about the pages, the limits have tests of their own.
# Every policy by name, so one added later (as the login-failure budget was) cannot carry a limit into the script.
GENEROUS = json.dumps({name: {"limit": 1000, "window_s": 60} for name in DEFAULT_RATE_LIMIT_POLICIES})
USER = ("reader@example.com", "Lantern-orchard-47-quiet")
ADMIN = ("admin@example.com", "Harbour-violet-93-steady")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return (
            "Chromium is missing: install Debian's `chromium` package (`bash infra/install-chromium.sh`) "
            "to run the browser tests"
        )
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        return "the web project is not installed: run `make web` (npm ci and the build) first"
    if not (ROOT / "functions" / "web" / "static" / "index.html").is_file():
        return "the dashboard is not built: run `make web` first"
    return None


@pytest.fixture(scope="session")
def browser_ready() -> None:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)  # CI installs everything: a missing piece there is a broken setup, not a skip
        pytest.skip(missing)


def _cli(*args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", *args],
        cwd=ROOT, env=dict(os.environ), input=stdin, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"autoindex {args[0]} failed: {done.stderr[-2000:]}"


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "autoindex serve exited"
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("autoindex serve did not answer within 60 s")


@pytest.fixture(scope="session")
def server(browser_ready: None, migrated: Any) -> Iterator[str]:
    """`make run`'s steps against the session database: migrate (done), refresh demo prices, serve."""
    _cli("refresh", "--if-empty")
    _cli("create-admin", "--email", ADMIN[0], stdin=ADMIN[1] + "\n")
    port = free_port()
    log = (ROOT / "var").joinpath("browser-serve.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as sink:
        env = {**os.environ, "PORT": str(port), "RATE_LIMIT_POLICIES": GENEROUS}
        process = subprocess.Popen(
            [sys.executable, "-m", "autoindex_dev.cli", "serve"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@dataclass
class Report:
    steps: dict[str, dict[str, Any]]
    failed: str | None
    output: str

    def step(self, name: str) -> dict[str, Any]:
        assert name in self.steps, f"step {name!r} did not pass: {self.failed or 'not run'}\n{self.output[-3000:]}"
        return self.steps[name]


@pytest.fixture(scope="session")
def e2e(server: str) -> Report:
    """Runs the browser script once; a step that failed ends the script, and the tests after it fail too."""
    register = json.dumps({"email": USER[0], "password": USER[1]}).encode()
    request = urllib.request.Request(
        f"{server}/v1/auth/register", data=register, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
    done = subprocess.run(
        ["node", "web/tests/e2e.mjs", "--base", server, "--email", USER[0], "--password", USER[1],
         "--admin-email", ADMIN[0], "--admin-password", ADMIN[1], "--out", str(SCREENSHOTS), "--chromium", CHROMIUM],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    steps: dict[str, dict[str, Any]] = {}
    failed = None
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("ok"):
            steps[entry["step"]] = entry
        else:
            failed = entry.get("error")
    if done.returncode != 0 and failed is None:
        failed = f"exit {done.returncode}: {done.stderr[-2000:]}"
    return Report(steps=steps, failed=failed, output=done.stdout + done.stderr)
