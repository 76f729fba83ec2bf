"""Reads that need arithmetic over stored series: the benchmark series, index-vs-benchmark comparison and the
investment simulation.

NumPy and the engine load only when one of these runs (never at a function's cold start). None
recomputes the index: all work on the stored values of the published version, and the benchmark is the
one the served strategy names (its blend, or the benchmark asset), the same in the series and the compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoindex.errors import ValidationFailed
from autoindex.index import read_cache
from autoindex.index.schemas import (
    BenchmarkCompare,
    BenchmarkSeries,
    BenchmarkSeriesQuery,
    CompareQuery,
    SimulationRead,
    SimulationRequest,
)
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from datetime import date

    from pydantic import BaseModel
    from sqlalchemy.orm import Session

    from autoindex.db.uow import UnitOfWork
    from autoindex.index.engine._arrays import FloatArray

_NOT_RELATIVE = ("beta", "alpha", "correlation", "tracking_error", "information_ratio")


@dataclass(frozen=True, slots=True)
class _Benchmark:
    """What the served strategy measures itself against, on the days asked for."""

    name: str  # a symbol, or a blend's description ("60% SPY / 40% IEF (monthly)")
    values: FloatArray
    return_type: str  # "price" or "total"
    symbol: str | None  # the one stored asset it is; None for a blend


def _strategy_benchmark(session: Session, strategy_version: int, days: list[date], return_type: str) -> _Benchmark:
    """The strategy's benchmark blend if it has one, else the benchmark asset; for the total-return index the
    ``TOTAL_RETURN_BENCHMARK`` when set. A 409 when none is configured, a 422 when it has no close on the
    first day.
    """
    from autoindex.index.compute_inputs import benchmark_for
    from autoindex.index.engine.strategy import StrategyParams
    from autoindex.index.models import StrategyVersion
    from autoindex.index.queries import benchmark_asset

    version = session.get(StrategyVersion, strategy_version)
    assert version is not None
    params = StrategyParams.model_validate(version.params)
    if params.benchmark_blend is None:
        benchmark_asset(session)  # a 409 when none is configured
    name, values, used = benchmark_for(session, params, days, return_type)
    if values is None or name is None:
        raise ValidationFailed(f"The benchmark {name} has no close on or before {days[0]}.")
    one_asset = used == "total" or params.benchmark_blend is None
    return _Benchmark(name=name, values=values, return_type=used, symbol=name if one_asset else None)


def _compare(uow: UnitOfWork, query: CompareQuery) -> tuple[str, BaseModel]:
    import numpy as np

    from autoindex.index.engine.metrics import risk_metrics
    from autoindex.index.queries import check_overlap, data_source, series, snapshot

    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        points = series(session, pub.strategy_version, query.return_type)
        check_overlap(query.start, query.end, points[0][0], points[-1][0])
        window = [
            (d, v) for d, v in points if (not query.start or d >= query.start) and (not query.end or d <= query.end)
        ]
        if len(window) < 2:
            raise ValidationFailed("The range must hold at least two index dates.")
        days = [d for d, _ in window]
        benchmark = _strategy_benchmark(session, pub.strategy_version, days, query.return_type)
        source = data_source(session, pub.strategy_version)
    bench = benchmark.values
    dates = np.array([np.datetime64(d, "D") for d in days])
    values = np.array([v for _, v in window])
    rf = get_settings().risk_free_rate
    index = risk_metrics(dates, values, bench, risk_free_rate=rf).to_dict()
    alone = risk_metrics(dates, bench, risk_free_rate=rf).to_dict()
    difference = {
        key: value - alone[key]
        for key, value in index.items()
        if key not in _NOT_RELATIVE
        and isinstance(value, float)
        and isinstance(alone.get(key), float)
        and math.isfinite(value - alone[key])
    }
    return read_cache.version_token(pub.data_version, pub.updated_at), BenchmarkCompare(
        benchmark=benchmark.name,
        data_source=source,
        return_type=query.return_type,
        benchmark_return_type=benchmark.return_type,
        strategy_version=pub.strategy_version,
        start=days[0],
        end=days[-1],
        index=index,
        benchmark_metrics={k: v for k, v in alone.items() if k not in _NOT_RELATIVE},
        difference=difference,
    )


def _benchmark_series(uow: UnitOfWork, query: BenchmarkSeriesQuery) -> tuple[str, BaseModel]:
    from autoindex.index.queries import check_overlap, closes_in_force, page_of_series, series, snapshot

    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        points = series(session, pub.strategy_version, query.return_type)
        check_overlap(query.start, query.end, points[0][0], points[-1][0])
        # One point per index date of the range, as compare measures: a chart or a client pairs them.
        days = [d for d, _ in points if (not query.start or d >= query.start) and (not query.end or d <= query.end)]
        bench = _strategy_benchmark(session, pub.strategy_version, days, query.return_type)
        closes = closes_in_force(session, bench.symbol, days) if bench.symbol and bench.return_type == "price" else None
    first = float(bench.values[0])
    items = [
        {
            "date": day.isoformat(),
            "value": value / first * 100.0,
            "close": None if closes is None else format(closes[i].normalize(), "f"),
        }
        for i, (day, value) in enumerate(zip(days, bench.values.tolist(), strict=True))
    ]
    page, next_cursor = page_of_series(items, query)
    return read_cache.version_token(pub.data_version, pub.updated_at), BenchmarkSeries(
        benchmark=bench.name,
        symbol=bench.symbol,
        return_type=query.return_type,
        benchmark_return_type=bench.return_type,
        items=page,
        next_cursor=next_cursor,
    )


def benchmark_series(*, uow: UnitOfWork, query: BenchmarkSeriesQuery) -> read_cache.CachedBody:
    """The strategy's benchmark on every index date of the range, normalised to 100 at the first."""
    return read_cache.read_through(
        "benchmark.series", query.model_dump(mode="json"), lambda: _benchmark_series(uow, query)
    )


def compare(*, uow: UnitOfWork, query: CompareQuery) -> read_cache.CachedBody:
    """Both sides' risk metrics over the range (default: the whole index) and index minus benchmark."""
    return read_cache.read_through("benchmark.compare", query.model_dump(mode="json"), lambda: _compare(uow, query))


def simulate(*, uow: UnitOfWork, request: SimulationRequest) -> SimulationRead:
    """Invest ``amount`` ``currency`` in the index, converted at each date's historical ``USD/XXX`` close.

    Raises
    ------
    ValidationFailed
        Unknown currency, dates outside the index data, or no usable rate for a date (422).
    """
    from sqlalchemy import select

    from autoindex.index.engine.simulation import BASE_CURRENCY, simulate_investment
    from autoindex.index.queries import data_source, series, snapshot
    from autoindex.market.models import Asset, DailyPrice

    code = request.currency.upper()
    fx_dates: list[Any] | None = None
    fx_rates: list[float] | None = None
    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        version = pub.strategy_version
        points = series(session, version, request.return_type)
        source = data_source(session, version)
        if code != BASE_CURRENCY:
            pair = session.scalars(select(Asset).where(Asset.symbol == f"USD/{code}")).one_or_none()
            if pair is None:
                raise ValidationFailed(f"Unsupported currency {code!r}; see GET /v1/currencies.")
            rows = session.execute(
                select(DailyPrice.date, DailyPrice.close)
                .where(DailyPrice.asset_id == pair.id)
                .order_by(DailyPrice.date)
            ).all()
            fx_dates, fx_rates = [d for d, _ in rows], [float(c) for _, c in rows]
    result = simulate_investment(
        amount=request.amount,
        currency=code,
        start_date=request.start_date,
        end_date=request.end_date,
        index_dates=[d for d, _ in points],
        index_values=[v for _, v in points],
        fx_dates=fx_dates,
        fx_rates=fx_rates,
        max_fx_age_days=get_settings().simulation_max_fx_age_days,
    )
    return SimulationRead.model_validate(
        {**result.to_dict(), "strategy_version": version, "return_type": request.return_type, "data_source": source}
    )
