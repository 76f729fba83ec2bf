"""Loopback helpers for tests that start their own servers."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


def free_port() -> int:
    """A port nothing listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving_runner() -> Iterator[str]:
    """The local runner's HTTP server for the real template, in this process; yields its base URL."""
    from autoindex_dev.runner import Runner, serve

    from tests.lambda_http import ROOT

    runner = Runner.from_file(ROOT / "template.yaml")
    server = serve(runner, port=free_port())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        runner.close()


def wait_until_serving(url: str, proc: subprocess.Popen[bytes], *, timeout_s: float = 120.0) -> None:
    """Poll ``url`` until the server started as ``proc`` answers at all; fail at once if it exits.

    A deadline rather than a count of tries: on a loaded 2-core machine `autoindex serve` can take tens of
    seconds to import, migrate and bind, and a test that gives up first only measures the machine.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"the server exited ({proc.returncode}) before answering: {output[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered {url} within {timeout_s:.0f} s")
            time.sleep(0.1)
