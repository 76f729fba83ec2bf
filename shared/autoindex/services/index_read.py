"""Index reads through the versioned cache. A hit needs neither the database nor the ORM.

Each read is cached under the published data version; on a miss the loader in
:mod:`autoindex.services.index_queries` (SQLAlchemy, imported only then) reads one snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoindex import cache

if TYPE_CHECKING:
    from types import ModuleType

    from autoindex.db.uow import UnitOfWork
    from autoindex.schemas.common import RangeQuery
    from autoindex.schemas.index import AllocationQuery, HistoryQuery, RiskMetricsQuery


def _queries() -> ModuleType:
    from autoindex.services import index_queries

    return index_queries


def current(*, uow: UnitOfWork) -> cache.CachedBody:
    """Today's allocation: drifted weights at the last close, the last rebalance and its notes."""
    return cache.read_through("index.current", {}, lambda: _queries().load_current(uow))


def history(*, uow: UnitOfWork, query: HistoryQuery) -> cache.CachedBody:
    """Index values (and daily returns or drawdowns, by ``fields``) between ``start`` and ``end``."""
    return cache.read_through(
        "index.history", query.model_dump(mode="json"), lambda: _queries().load_history(uow, query)
    )


def allocations(*, uow: UnitOfWork, query: AllocationQuery) -> cache.CachedBody:
    """The target weights of the rebalance in effect on ``query.date`` (default: the last index date)."""
    return cache.read_through(
        "index.allocations", query.model_dump(mode="json"), lambda: _queries().load_allocations(uow, query)
    )


def currencies(*, uow: UnitOfWork) -> cache.CachedBody:
    """The supported simulation currencies with the span of their FX history."""
    return cache.read_through("currencies", {}, lambda: _queries().load_currencies(uow))


def benchmark_series(*, uow: UnitOfWork, query: RangeQuery) -> cache.CachedBody:
    """The benchmark's closes over the range, normalised with the index."""
    return cache.read_through(
        "benchmark.series", query.model_dump(mode="json"), lambda: _queries().load_benchmark_series(uow, query)
    )


def risk_metrics(*, uow: UnitOfWork, query: RiskMetricsQuery) -> cache.CachedBody:
    """The stored risk metrics (latest, by period, and the rolling window asked for)."""
    return cache.read_through(
        "strategy.risk_metrics", query.model_dump(mode="json"), lambda: _queries().load_risk_metrics(uow, query)
    )
