"""Load shedding: at most ``MAX_CONCURRENT_REQUESTS`` requests in one container at once; the excess gets
503 with ``Retry-After`` at once instead of waiting in a queue.

A queue in front of a saturated database only grows (the 2026-11 probe saw 17 s p95 with Redis
down, still 13.6 s twenty seconds after it came back); an immediate 503 tells the client to come
back and keeps the latency of what is admitted normal. A Lambda container serves one request at a
time, so there the limit never bites; the local runner serves many at once per function.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from autoindex.observability import add_metric
from autoindex.web.problems import problem_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

RETRY_AFTER_S = 1


class ConcurrencyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._lock = threading.Lock()  # the runner drives one app from several threads, each with its own loop
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        with self._lock:
            admitted = self.in_flight < self.limit
            if admitted:
                self.in_flight += 1
        if not admitted:
            add_metric("RequestShed")
            response = problem_response(
                status=503,
                detail="The service is at capacity; try again shortly.",
                slug="overloaded",
                instance=str(scope.get("path", "")),
                request_id=(scope.get("state") or {}).get("request_id"),
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1
