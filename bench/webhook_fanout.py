"""Fan-out of one event to 100 webhook endpoints on the local runner (issue 14).

One receiver over real HTTP on 127.0.0.1 (this helper's port range) stands for 100 endpoints (one path
each, each with its own secret, every signature verified). The clock runs from publishing one
``RefreshFailed`` on the local runner's bus (the webhooks job fans it out to 100 deliveries, queues them,
and the same job makes each signed attempt) to the receiver holding all 100. Goal: all within 1 s,
reported as a ratio to that budget.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench._common import ROOT, report
from bench._db import bench_database

ENDPOINTS, SAMPLES = 100, 5
PORTS = range(4650, 4700)


class _Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.seen: set[str] = set()
        self.bad = 0
        self.done = threading.Event()
        self.lock = threading.Lock()

    def take(self, path: str, signature: str, body: bytes) -> int:
        from autoindex.webhooks import signing

        try:
            signing.verify(signature, body, self.secrets[path], now=int(time.time()))
        except (signing.SignatureError, KeyError):
            with self.lock:
                self.bad += 1
            return 400
        with self.lock:
            self.seen.add(path)
            if len(self.seen) == ENDPOINTS:
                self.done.set()
        return 204


def _serve(receiver: _Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.take(self.path, self.headers.get("AutoIndex-Signature", ""), body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError:
            continue
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
    raise RuntimeError("no free port in 4650-4699")


def _endpoints(base: str, receiver: _Receiver) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import service as identity
    from autoindex.webhooks import signing
    from autoindex.webhooks.models import WebhookEndpoint

    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    user = identity.create_admin(uow=UnitOfWork(), email=email, password="Bench-password-" + uuid.uuid4().hex[:8])
    with UnitOfWork() as uow:
        for n in range(ENDPOINTS):
            path, secret = f"/hook/{n}", signing.new_secret()
            receiver.secrets[path] = secret
            uow.session.add(
                WebhookEndpoint(
                    user_id=user.id, url=base + path, events=["refresh.failed"], secret=secret, is_active=True
                )
            )


def _one_event(dispatcher: Any, receiver: _Receiver) -> float:
    from autoindex.events import transport
    from autoindex.events.names import EventName

    receiver.seen.clear()
    receiver.done.clear()
    started = time.perf_counter()
    transport.publish(EventName.REFRESH_FAILED, {"run_id": str(uuid.uuid4()), "status": "failed"})
    if not receiver.done.wait(60):
        raise RuntimeError(f"only {len(receiver.seen)} of {ENDPOINTS} deliveries arrived")
    elapsed = time.perf_counter() - started
    dispatcher.drain(60)  # the records' bookkeeping ends before the next sample
    return elapsed


def main() -> int:
    os.environ.pop("REDIS_URL", None)
    os.environ.update({"STAGE": "local", "WEBHOOK_ALLOW_PRIVATE": "true", "LOG_LEVEL": "WARNING"})
    from autoindex.events.transport import use_local_dispatcher
    from autoindex_dev.dispatch import LocalDispatcher
    from autoindex_dev.runner import Runner

    receiver = _Receiver()
    server = _serve(receiver)
    with bench_database():
        from autoindex.settings import get_settings

        get_settings.cache_clear()
        _endpoints(f"http://127.0.0.1:{server.server_address[1]}", receiver)
        dispatcher = LocalDispatcher(Runner.from_file(ROOT / "template.yaml"))
        use_local_dispatcher(dispatcher)
        try:
            _one_event(dispatcher, receiver)  # warm: the functions load once, as a warm container would
            samples = [_one_event(dispatcher, receiver) for _ in range(SAMPLES)]
        finally:
            use_local_dispatcher(None)
            dispatcher.close()
    server.shutdown()
    server.server_close()
    assert receiver.bad == 0, f"{receiver.bad} deliveries failed their signature check"
    met = report(
        f"fan-out of one event to {ENDPOINTS} endpoints (local runner) vs a 1 s budget", samples, [1.0], goal=1.0
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
