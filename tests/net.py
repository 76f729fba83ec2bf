"""Loopback helpers for tests that start their own servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
