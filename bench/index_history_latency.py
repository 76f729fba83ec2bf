"""Cached ``GET /v1/index/history`` p50 through the index function's handler, against a bare floor.

The data: ten years (2,520 trading days) of index values for the published version, on the real
PostgreSQL and Redis. The first request builds the cache entry; every measured request is a hit
(a Redis ``GET`` of the current version; the body is this container's copy), after the same
middleware, per-IP and per-key rate limits and API-key authentication every read pays. The floor
is a bare FastAPI + Mangum handler returning the same bytes for the same event, measured twice:
with a ``def`` route (the goal, <= 2x) and with an ``async def`` route (recorded).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

os.environ.setdefault("STAGE", "bench")
os.environ.setdefault("MARKET_DATA_PROVIDER", "demo")  # required outside the local stage
os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
os.environ.setdefault("JWT_SIGNING_KEY", "bench-signing-key-" + "x" * 32)
os.environ.setdefault("API_KEY_PEPPER", "bench-api-key-pepper-" + "y" * 32)
os.environ["RATE_LIMIT_POLICIES"] = (
    '{"default": {"limit": 1000000, "window_s": 60}, "api_key": {"limit": 1000000, "window_s": 60},'
    ' "api_key_daily": {"limit": 1000000, "window_s": 86400}}'
)
os.environ["API_KEY_DAILY_QUOTA"] = "1000000"
os.environ["RATE_LIMIT_KEY_PREFIX"] = f"rl-bench-{uuid.uuid4().hex[:6]}"
os.environ["INDEX_CACHE_PREFIX"] = f"ix-bench-{uuid.uuid4().hex[:6]}"
os.environ["INDEX_CACHE_VERSION_TTL_S"] = "3600"

from bench._common import ROOT, report
from bench._db import bench_database

DAYS = 2_520


def _seed() -> str:
    """Index values and a publication row (what a compute writes), and a read-scope API key."""
    from decimal import Decimal

    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import api_keys
    from autoindex.identity import service as identity
    from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
    from autoindex.index.models import IndexPublication, IndexValue
    from sqlalchemy import insert, update

    start = date(2016, 1, 4)
    days = [start + timedelta(days=i) for i in range(DAYS * 7 // 5 + 7) if (start + timedelta(days=i)).weekday() < 5]
    rows = [
        {"strategy_version": 1, "date": d, "value": Decimal(f"{100 * (1.0003**i):.12f}")}
        for i, d in enumerate(days[:DAYS])
    ]
    with UnitOfWork() as uow:
        uow.session.execute(insert(IndexValue), rows)
        uow.session.execute(
            update(IndexPublication).values(
                data_version=1, strategy_version=1, as_of=rows[-1]["date"], updated_at=datetime.now(UTC)
            )
        )
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    user = identity.create_admin(uow=UnitOfWork(), email=email, password="Bench-password-" + uuid.uuid4().hex[:8])
    owner = Principal(kind="user", user_id=user.id, email=email, role="admin", scopes=scopes_for_role("admin"))
    meta = RequestMeta(request_id=None, source_ip=None)
    key = api_keys.create(
        uow=UnitOfWork(), principal=owner, name="bench", scopes=["read"], expires_in_days=None, meta=meta
    )
    return key.key


def _bench(key: str, samples: int) -> bool:
    from autoindex_dev.lambda_events import LocalContext, http_event
    from autoindex_dev.loader import load_handler
    from fastapi import FastAPI
    from fastapi.responses import Response
    from mangum import Mangum

    handler = load_handler(ROOT / "functions" / "index", "app.handler")
    context = LocalContext(function_name="bench")
    event = http_event(method="GET", path="/v1/index/history", headers=[("x-api-key", key)], source_ip="198.51.100.9")
    first = handler(event, context)
    assert first["statusCode"] == 200, first
    body = first["body"].encode()
    assert handler(event, context)["headers"]["x-cache"] == "hit"

    # Two floors returning the same bytes. FastAPI runs a plain `def` route in its thread pool, which
    # costs about half a millisecond here; an `async def` route does not. The goal is judged against
    # the first (the bare handler as FastAPI's documentation writes it); the second, stricter one is
    # recorded so the price of authentication, limits and the cache lookup is plain to see.
    bare = FastAPI()

    @bare.get("/v1/index/history")
    def same_bytes() -> Response:
        return Response(content=body, media_type="application/json")

    bare_async = FastAPI()

    @bare_async.get("/v1/index/history")
    async def same_bytes_async() -> Response:
        return Response(content=body, media_type="application/json")

    floors = {"def": Mangum(bare, lifespan="off"), "async def": Mangum(bare_async, lifespan="off")}
    for floor in floors.values():
        assert floor(event, context)["body"].encode() == body  # type: ignore[arg-type]
    measured: list[float] = []
    baselines: dict[str, list[float]] = {name: [] for name in floors}
    for _ in range(50):  # warm all three
        handler(event, context)
        for floor in floors.values():
            floor(event, context)  # type: ignore[arg-type]
    for _ in range(samples):  # interleaved, so drift in the machine's speed touches all three alike
        started = time.perf_counter()
        result = handler(event, context)
        measured.append(time.perf_counter() - started)
        assert result["statusCode"] == 200
        for name, floor in floors.items():
            started = time.perf_counter()
            floor(event, context)  # type: ignore[arg-type]
            baselines[name].append(time.perf_counter() - started)
    print(f"  body: {len(body)} bytes ({DAYS} index values)")
    ok = report("cached GET /v1/index/history p50 vs bare FastAPI+Mangum `def` route, same bytes",
                measured, baselines["def"], goal=2.0)  # fmt: skip
    report("cached GET /v1/index/history p50 vs bare FastAPI+Mangum `async def` route, same bytes",
           measured, baselines["async def"], goal=None)  # fmt: skip
    return ok


def main() -> int:
    with bench_database():
        ok = _bench(_seed(), samples=400)
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
