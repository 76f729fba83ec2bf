"""Index reads through the versioned cache. A hit needs neither the database nor the ORM.

Each read is cached under the published data version; on a miss the loader in
:mod:`autoindex.index.queries` (SQLAlchemy, imported only then) reads one snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoindex.index import read_cache

if TYPE_CHECKING:
    from types import ModuleType

    from autoindex.db.uow import UnitOfWork
    from autoindex.index.schemas import AllocationQuery, HistoryQuery, RiskMetricsQuery, SeriesQuery


def _queries() -> ModuleType:
    from autoindex.index import queries as index_queries

    return index_queries


def current(*, uow: UnitOfWork) -> read_cache.CachedBody:
    """Today's allocation: drifted weights at the last close, the last rebalance and its notes."""
    return read_cache.read_through("index.current", {}, lambda: _queries().load_current(uow))


def history(*, uow: UnitOfWork, query: HistoryQuery) -> read_cache.CachedBody:
    """Index values (and daily returns or drawdowns, by ``fields``) between ``start`` and ``end``."""
    return read_cache.read_through(
        "index.history", query.model_dump(mode="json"), lambda: _queries().load_history(uow, query)
    )


def allocations(*, uow: UnitOfWork, query: AllocationQuery) -> read_cache.CachedBody:
    """The target weights of the rebalance in effect on ``query.date`` (default: the last index date)."""
    return read_cache.read_through(
        "index.allocations", query.model_dump(mode="json"), lambda: _queries().load_allocations(uow, query)
    )


def currencies(*, uow: UnitOfWork) -> read_cache.CachedBody:
    """The supported simulation currencies with the span of their FX history."""
    return read_cache.read_through("currencies", {}, lambda: _queries().load_currencies(uow))


def risk_metrics(*, uow: UnitOfWork, query: RiskMetricsQuery) -> read_cache.CachedBody:
    """The stored risk metrics (latest, by period, and the rolling window asked for)."""
    return read_cache.read_through(
        "strategy.risk_metrics", query.model_dump(mode="json"), lambda: _queries().load_risk_metrics(uow, query)
    )


def rebalances(*, uow: UnitOfWork, query: SeriesQuery) -> read_cache.CachedBody:
    """Each rebalance with its trigger, turnover, cost, market-cap leg, cap sources and notes."""
    return read_cache.read_through(
        "index.rebalances", query.model_dump(mode="json"), lambda: _queries().load_rebalances(uow, query)
    )
