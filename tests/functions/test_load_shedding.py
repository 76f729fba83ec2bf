"""A container at its concurrency limit answers the excess at once with 503 and Retry-After, not after a queue."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from autoindex.web.app import create_app, http_handler
from fastapi import APIRouter

from tests.lambda_http import Result, call


def _blocking_app(release: threading.Event, entered: threading.Semaphore) -> Any:
    router = APIRouter(prefix="/v1/slow")

    @router.get("")
    def slow() -> dict[str, bool]:
        entered.release()
        release.wait(30)  # a busy database, until the test has seen the excess shed
        return {"ok": True}

    return http_handler(create_app([router], title="test", rate_limit_policy=None))


def _on_own_loop(handler: Any) -> Result:
    # The local runner serves each request on its own thread with its own event loop; so does this. The main
    # thread keeps its own loop: unsetting it would leave later tests' Mangum calls without one.
    if threading.current_thread() is threading.main_thread():
        return call(handler, "GET", "/v1/slow")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return call(handler, "GET", "/v1/slow")
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_the_excess_over_the_limit_is_shed_at_once(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("MAX_CONCURRENT_REQUESTS", "3")
    release, entered = threading.Event(), threading.Semaphore(0)
    handler = _blocking_app(release, entered)
    with ThreadPoolExecutor(max_workers=3) as pool:
        admitted = [pool.submit(_on_own_loop, handler) for _ in range(3)]
        for _ in range(3):
            assert entered.acquire(timeout=20)  # all three are inside the route
        started = time.monotonic()
        shed = [_on_own_loop(handler) for _ in range(2)]
        shed_in_s = time.monotonic() - started
        release.set()
        served = [f.result(timeout=30) for f in admitted]
    for result in shed:
        assert result.status == 503
        assert result.headers["retry-after"] == "1"
        assert result.headers["content-type"] == "application/problem+json"
        assert result.json()["type"].endswith("overloaded") and result.headers["x-request-id"]
        assert result.headers["x-content-type-options"] == "nosniff"
    assert shed_in_s < 5  # answered, not queued behind the 30 s the admitted ones could take
    assert [r.status for r in served] == [200, 200, 200]
    # Once they are done, the container admits again.
    release.set()
    assert _on_own_loop(handler).status == 200
