"""A webhook receiver over real HTTP on 127.0.0.1 that verifies signatures, as a client's would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoindex.webhooks import signing

# This helper's own port range (never an ephemeral port: other engineers share the machine).
PORTS = range(4650, 4700)


@dataclass
class Receiver:
    secret: str = ""
    fail_first: int = 0  # answer 500 to this many requests, then 200
    always_fail: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            try:
                signing.verify(headers.get("autoindex-signature", ""), body, self.secret, now=int(time.time()))
            except signing.SignatureError:
                self.bad_signatures += 1
                self.answers.append(400)
                return 400
            failing = self.always_fail or len(self.answers) < self.fail_first
            status = 500 if failing else 200
            self.answers.append(status)
            if status == 200:
                self.received.append(json.loads(body))
            return status

    def wait_for(self, count: int, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.02)
        return False


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    server: ThreadingHTTPServer | None = None
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(receiver))
            break
        except OSError:
            continue
    assert server is not None, "no free port in this helper's range"
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
