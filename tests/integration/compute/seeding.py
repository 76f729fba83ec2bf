"""A market with enough history to form the index (the default strategy looks back 60 trading days).

Used by the compute tests and the index and strategy API tests: the real pipeline ingests demo prices
for AAPL and MSFT (the universe), SPX (the benchmark) and USD/EUR, and its PricesRefreshed event runs
the compute job in-process, whose IndexComputed event warms the caches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import numpy as np
from autoindex.db.uow import UnitOfWork
from autoindex.events.transport import use_local_dispatcher
from autoindex.index import read_cache
from autoindex.index.models import (
    ComputeRun,
    IndexAllocation,
    IndexEngineState,
    IndexMetric,
    IndexPublication,
    IndexTotalValue,
    IndexValue,
    RebalanceRequest,
    StrategyVersion,
)
from autoindex.market.models import Asset, DailyPrice
from autoindex.market.refresh import request_refresh
from autoindex_dev.runner import Runner
from sqlalchemy import delete, select, update

from tests.conftest import clear_process_caches
from tests.lambda_http import ROOT
from tests.pipeline_fixtures import RecordingDispatcher, reset_market

LONG_START = (datetime.now(UTC) - timedelta(days=200)).date()
SYMBOLS = {"AAPL", "MSFT", "SPX", "USD/EUR"}
UNIVERSE = ("AAPL", "MSFT")


def reset_index() -> None:
    """No derived index data, version 1 active again; the data version moves on (it never goes back)."""
    with UnitOfWork() as uow:
        session = uow.session
        session.execute(
            update(IndexPublication).values(
                data_version=IndexPublication.data_version + 1, strategy_version=None, as_of=None
            )
        )
        for model in (
            IndexValue,
            IndexTotalValue,
            IndexAllocation,
            IndexMetric,
            IndexEngineState,
            ComputeRun,
            RebalanceRequest,
        ):
            session.execute(delete(model))
        session.execute(update(StrategyVersion).values(is_active=False))
        session.execute(delete(StrategyVersion).where(StrategyVersion.id != 1))
        session.execute(update(StrategyVersion).where(StrategyVersion.id == 1).values(is_active=True))


def refresh(dispatcher: RecordingDispatcher) -> None:
    """One refresh of what is missing, delivered (ingest, compute, warm) before returning."""
    request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    assert dispatcher.drain(120)


@contextmanager
def seeded_market() -> Iterator[RecordingDispatcher]:
    saved = {k: os.environ.get(k) for k in ("HISTORY_START", "REFRESH_BATCH_SYMBOLS")}
    os.environ["HISTORY_START"] = LONG_START.isoformat()
    os.environ["REFRESH_BATCH_SYMBOLS"] = "4"
    clear_process_caches()
    read_cache.reset()
    reset_market(keep=SYMBOLS)
    reset_index()
    dispatcher = RecordingDispatcher(Runner.from_file(ROOT / "template.yaml"))
    use_local_dispatcher(dispatcher)
    try:
        refresh(dispatcher)
        yield dispatcher
    finally:
        dispatcher.drain(60)  # events a test published (IndexComputed -> warming) finish before the reset
        dispatcher.close()
        use_local_dispatcher(None)
        reset_index()
        reset_market()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_process_caches()
        read_cache.reset()


def closes_matrix(symbols: tuple[str, ...] = UNIVERSE) -> tuple[list[date], np.ndarray]:
    """Every stored close of ``symbols`` as (dates, dates x assets), read independently of the job."""
    with UnitOfWork(read_only=True) as uow:
        ids = {a.symbol: a.id for a in uow.session.scalars(select(Asset).where(Asset.symbol.in_(symbols)))}
        rows = uow.session.execute(
            select(DailyPrice.asset_id, DailyPrice.date, DailyPrice.close).where(DailyPrice.asset_id.in_(ids.values()))
        ).all()
    dates = sorted({d for _, d, _ in rows})
    column = {ids[s]: j for j, s in enumerate(symbols)}
    row = {d: i for i, d in enumerate(dates)}
    matrix = np.full((len(dates), len(symbols)), np.nan)
    for asset_id, day, close in rows:
        matrix[row[day], column[asset_id]] = float(close)
    return list(dates), matrix


def stored_values(version: int) -> tuple[list[date], np.ndarray]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(IndexValue.date, IndexValue.value)
            .where(IndexValue.strategy_version == version)
            .order_by(IndexValue.date)
        ).all()
    return [d for d, _ in rows], np.array([float(v) for _, v in rows])


def publication() -> IndexPublication:
    with UnitOfWork(read_only=True) as uow:
        found = uow.session.get(IndexPublication, 1)
        assert found is not None
        return found


def latest_run() -> ComputeRun:
    with UnitOfWork(read_only=True) as uow:
        return uow.session.scalars(select(ComputeRun).order_by(ComputeRun.created_at.desc())).first()  # type: ignore[return-value]
