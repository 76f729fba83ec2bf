"""A 10-year, 13-asset backtest job against the engine's full compute of the same data (issue 14).

Data: the seeded universe (13 assets) and the benchmark, 2,520 business days of synthetic closes in a
throwaway PostgreSQL database. In the same run, samples alternating:

- baseline: the compute job's full recompute of the live index (``run_compute(full=True)``): read the
  closes, run the engine, write values, allocations and metrics;
- measured: one backtest job (``backtests.run.run``) with parameters no earlier backtest had (so the
  cache never answers): read the closes, run the engine, build the report (metrics for the backtest, the
  live index and the benchmark; series; allocations) and store it.

Goal: the job <= 2x the full compute.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from bench._common import report
from bench._db import bench_database

N_DATES, SAMPLES = 2_520, 5


class _Quiet:
    """Stands in for the local runner: events and queue messages go nowhere (the bench times the jobs alone)."""

    def publish(self, detail_type: str, detail: dict[str, Any], *, source: str) -> None:
        return None

    def enqueue(self, queue: str, bodies: Any, delay_s: float = 0.0) -> None:
        return None


def _seed() -> uuid.UUID:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import service as identity
    from autoindex.market.models import Asset, DailyPrice
    from sqlalchemy import insert, select

    rng = np.random.default_rng(7)
    start = date(2015, 1, 5)
    days = [
        start + timedelta(days=i) for i in range(N_DATES * 7 // 5 + 14) if (start + timedelta(days=i)).weekday() < 5
    ]
    days = days[:N_DATES]
    with UnitOfWork() as uow:
        assets = list(uow.session.scalars(select(Asset).where(Asset.in_universe | Asset.is_benchmark)))
        rows = []
        for asset in assets:
            closes = rng.uniform(20, 400) * np.cumprod(1 + rng.normal(0.0004, 0.015, N_DATES))
            for day, close in zip(days, closes.tolist(), strict=True):
                price = Decimal(f"{close:.4f}")
                rows.append(
                    {
                        "asset_id": asset.id,
                        "date": day,
                        "open": price,
                        "high": price,
                        "low": price,
                        "close": price,
                        "volume": 1_000,
                        "source": "demo",
                        "ingested_at": datetime.now(UTC),
                    }
                )
        uow.session.execute(insert(DailyPrice), rows)
    print(f"seeded {len(assets)} assets x {N_DATES} days")
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    user = identity.create_admin(uow=UnitOfWork(), email=email, password="Bench-password-" + uuid.uuid4().hex[:8])
    return user.id


def _full_compute() -> float:
    from autoindex.db.uow import UnitOfWork
    from autoindex.index.compute import run_compute

    started = time.perf_counter()
    outcome = run_compute(uow=UnitOfWork(), trigger="cli", full=True)
    elapsed = time.perf_counter() - started
    assert outcome.status == "succeeded", outcome
    return elapsed


def _engine_alone() -> float:
    """The engine's full compute of the same closes, nothing else (no database, no report)."""
    from autoindex.db.uow import UnitOfWork
    from autoindex.index import compute_inputs as inputs
    from autoindex.index.engine.index import compute_index
    from autoindex.index.engine.strategy import StrategyParams

    with UnitOfWork(read_only=True) as uow:
        universe = inputs.universe(uow.session)
        closes = inputs.load_closes(uow.session, [a.id for a in universe])
    symbols = tuple(a.symbol for a in universe)
    started = time.perf_counter()
    compute_index(closes.dates, closes.matrix, StrategyParams(), assets=symbols)
    return time.perf_counter() - started


def _backtest(user_id: uuid.UUID, sample: int) -> float:
    from autoindex.backtests import service
    from autoindex.backtests.run import run
    from autoindex.backtests.schemas import BacktestCreate
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.principal import Principal, scopes_for_role

    principal = Principal(
        kind="user", user_id=user_id, email="bench@example.com", role="admin", scopes=scopes_for_role("admin")
    )
    body = BacktestCreate(strategy={"transaction_cost_bps": 5.0 + sample / 100})  # a new key: never cached
    accepted = service.submit(uow=UnitOfWork(), principal=principal, body=body)
    started = time.perf_counter()
    status = run(accepted.id)
    elapsed = time.perf_counter() - started
    assert status == "succeeded", status
    return elapsed


def main() -> int:
    import os

    os.environ.pop("REDIS_URL", None)  # the read cache and limits in-process: the bench times the jobs
    os.environ["BACKTEST_MAX_CONCURRENT_PER_KEY"] = "100"
    from autoindex.events.transport import use_local_dispatcher

    with bench_database():
        from autoindex.settings import get_settings

        get_settings.cache_clear()
        use_local_dispatcher(_Quiet())
        user_id = _seed()
        _full_compute()  # publishes the live index the backtest reports beside its own
        job: list[float] = []
        full: list[float] = []
        engine: list[float] = []
        for sample in range(SAMPLES):
            full.append(_full_compute())
            job.append(_backtest(user_id, sample))
            engine.append(_engine_alone())
        use_local_dispatcher(None)
    met = report("backtest job (10 y, 13 assets) vs full compute job", job, full, goal=2.0)
    report("backtest job vs the engine alone on the same closes", job, engine, goal=None)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
