"""A daily refresh of 500 symbols against the fake Twelve Data API over HTTP (127.0.0.1).

It checks that the refresh uses exactly 500 credits, with no 429. It then compares the refresh's
wall time with the floor that the credit budget alone imposes, measured in the same run. To keep
the run short, the plan's "minute" is 1 s and holds 100 credits (constructor parameters of the fake
and the budget). 500 credits therefore need at least four full windows after the first.

The ratio to the floor should be close to 1, which means the budget sets the pace, not the code.
The same refresh with an unlimited budget shows what the code alone costs.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

os.environ.setdefault("STAGE", "bench")
os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
os.environ["DB_POOL_SIZE"] = "6"
os.environ["REFRESH_BATCH_SYMBOLS"] = "8"

from bench._db import bench_database

SYMBOLS = 500
WORKERS = 4


class _Collector:
    """A local transport that keeps queued messages for the benchmark's own workers and drops events."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def publish(self, detail_type: str, detail: dict[str, Any], *, source: str) -> None:
        return None

    def enqueue(self, queue_name: str, bodies: Sequence[str], delay_s: float = 0.0) -> None:
        self.bodies.extend(bodies)


def _refresh(fake_url: str, *, per_window: int, key: str) -> tuple[float, int, int]:
    """One planned refresh ingested by four concurrent workers; (seconds, run credits, run rows)."""
    from autoindex.db.uow import UnitOfWork
    from autoindex.events.transport import use_local_dispatcher
    from autoindex.market.ingest import ingest_batch
    from autoindex.market.models import Asset, DailyPrice, RefreshRun
    from autoindex.market.planning import last_final_session
    from autoindex.market.providers.budget import RedisCreditBudget
    from autoindex.market.providers.twelvedata.client import TwelveDataProvider
    from autoindex.market.refresh import request_refresh
    from autoindex.settings import get_settings
    from redis import Redis
    from sqlalchemy import update

    settings = get_settings()
    through = last_final_session(datetime.now(UTC), settings.market_timezone, settle=timedelta(minutes=30))
    with UnitOfWork() as uow:  # every symbol is complete up to the session before: one day each is missing
        uow.session.query(DailyPrice).delete()
        uow.session.execute(update(Asset).values(prices_checked_through=through - timedelta(days=1)))
        uow.session.query(RefreshRun).delete()
    collector = _Collector()
    use_local_dispatcher(collector)  # the workers below play the ingest function; the queue is a list
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for body in collector.bodies:
        work.put(json.loads(body))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"

    def worker() -> None:
        budget = RedisCreditBudget(
            Redis.from_url(os.environ["REDIS_URL"]),
            minute_limit=per_window,
            day_limit=1_000_000,
            key_prefix=prefix,
            window_ms=1000,
            guard_ms=100,
        )
        provider = TwelveDataProvider.from_settings(settings, budget=budget)
        while True:
            try:
                message = work.get_nowait()
            except queue.Empty:
                return
            ingest_batch(
                run_id=uuid.UUID(message["run_id"]), seq=message["seq"], provider=provider, final_attempt=False
            )

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with UnitOfWork(read_only=True) as uow:
        run = uow.session.get(RefreshRun, ticket.run.id)
        assert run is not None and run.status == "succeeded", run and (run.status, run.errors)
        return elapsed, run.credits_used, run.rows_written


def main() -> int:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset
    from autoindex_dev.fake_twelvedata.server import FakeTwelveData
    from sqlalchemy import update

    from tests.conftest import clear_process_caches

    key = "bench-key-" + uuid.uuid4().hex[:8]
    per_window = 100
    with bench_database():
        with UnitOfWork() as uow:
            uow.session.execute(update(Asset).values(is_active=False))
            uow.session.add_all(
                Asset(symbol=f"SYN{i:04d}", name=f"Synthetic {i}", asset_type="stock", currency="USD")
                for i in range(SYMBOLS)
            )
        results = {}
        for label, credits in (("budgeted", per_window), ("unlimited", 1_000_000)):
            with FakeTwelveData(
                credits_per_minute=credits, credits_per_day=10_000_000, api_key=key, window_s=1.0
            ) as fake:
                os.environ.update(
                    MARKET_DATA_PROVIDER="twelvedata", TWELVEDATA_BASE_URL=fake.url, TWELVEDATA_API_KEY=key
                )
                clear_process_caches()
                elapsed, used, rows = _refresh(fake.url, per_window=credits, key=key)
                assert fake.status_count(429) == 0, "the provider answered 429"
                results[label] = (elapsed, used, rows)
        budgeted, unlimited = results["budgeted"], results["unlimited"]
        assert budgeted[1] == SYMBOLS and budgeted[2] == SYMBOLS, budgeted
        # Floor: the first window is partly spent already when the run starts; every further
        # `per_window` credits need one more whole window.
        floor = (SYMBOLS // per_window - 1) * 1.0
        ratio = budgeted[0] / floor
        print(f"daily refresh of {SYMBOLS} symbols: {budgeted[1]} credits, {budgeted[2]} rows, 0 x 429")
        print(f"  wall {budgeted[0]:.2f} s vs budget floor {floor:.2f} s -> {ratio:.2f}x (budget-bound if ~1)")
        print(f"  the same refresh with an unlimited budget: {unlimited[0]:.2f} s (the code's own cost)")
        ok = ratio <= 1.5 and unlimited[0] < floor
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
