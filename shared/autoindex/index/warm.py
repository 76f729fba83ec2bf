"""Cache warming on ``IndexComputed``: the reads most clients make first are built before anyone asks."""

from __future__ import annotations

from collections.abc import Callable

from autoindex.db.uow import UnitOfWork
from autoindex.index import analytics as index_analytics
from autoindex.index import read as index_read
from autoindex.index import read_cache
from autoindex.index.schemas import (
    AllocationQuery,
    BenchmarkSeriesQuery,
    CompareQuery,
    HistoryQuery,
    RiskMetricsQuery,
)
from autoindex.observability import add_metric, logger


def _default_reads() -> list[tuple[str, Callable[[], read_cache.CachedBody]]]:
    def read() -> UnitOfWork:
        return UnitOfWork(read_only=True)

    return [
        ("index.current", lambda: index_read.current(uow=read())),
        ("index.history", lambda: index_read.history(uow=read(), query=HistoryQuery())),
        ("index.allocations", lambda: index_read.allocations(uow=read(), query=AllocationQuery())),
        ("currencies", lambda: index_read.currencies(uow=read())),
        ("benchmark.series", lambda: index_analytics.benchmark_series(uow=read(), query=BenchmarkSeriesQuery())),
        ("benchmark.compare", lambda: index_analytics.compare(uow=read(), query=CompareQuery())),
        ("strategy.risk_metrics.30", lambda: index_read.risk_metrics(uow=read(), query=RiskMetricsQuery(window=30))),
        ("strategy.risk_metrics.90", lambda: index_read.risk_metrics(uow=read(), query=RiskMetricsQuery(window=90))),
    ]


def warm(*, version_token: str) -> dict[str, str]:
    """Build the default reads of data version ``version_token`` into the cache; a failing read stops no other.

    Returns
    -------
    dict
        Read name -> ``hit``, ``built`` or ``failed``.
    """
    read_cache.publish_version(version_token)
    outcome: dict[str, str] = {}
    for name, read in _default_reads():
        try:
            outcome[name] = "hit" if read().hit else "built"
        except Exception:
            logger.exception("cache warming failed", extra={"read": name})
            outcome[name] = "failed"
    add_metric("CacheWarmed", sum(1 for v in outcome.values() if v == "built"))
    return outcome
