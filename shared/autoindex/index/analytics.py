"""Reads that need arithmetic over stored series: index-vs-benchmark comparison and the investment simulation.

NumPy and the engine load only when one of these runs (never at a function's cold start). Neither
recomputes the index: both work on the stored values of the published version.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from autoindex.errors import ValidationFailed
from autoindex.index import read_cache
from autoindex.index.schemas import BenchmarkCompare, CompareQuery, SimulationRead, SimulationRequest
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from autoindex.db.uow import UnitOfWork

_NOT_RELATIVE = ("beta", "alpha", "correlation", "tracking_error", "information_ratio")


def _compare(uow: UnitOfWork, query: CompareQuery) -> tuple[str, BaseModel]:
    import numpy as np

    from autoindex.index.compute_inputs import benchmark_for
    from autoindex.index.engine.metrics import risk_metrics
    from autoindex.index.engine.strategy import StrategyParams
    from autoindex.index.models import StrategyVersion
    from autoindex.index.queries import benchmark_asset, check_overlap, data_source, series, snapshot

    with snapshot(uow) as (session, pub):
        assert pub.strategy_version is not None
        points = series(session, pub.strategy_version, query.return_type)
        check_overlap(query.start, query.end, points[0][0], points[-1][0])
        window = [
            (d, v) for d, v in points if (not query.start or d >= query.start) and (not query.end or d <= query.end)
        ]
        if len(window) < 2:
            raise ValidationFailed("The range must hold at least two index dates.")
        version = session.get(StrategyVersion, pub.strategy_version)
        assert version is not None
        params = StrategyParams.model_validate(version.params)
        if params.benchmark_blend is None:
            benchmark_asset(session)  # a 409 when none is configured
        days = [d for d, _ in window]
        name, bench, bench_type = benchmark_for(session, params, days, query.return_type)
        source = data_source(session, pub.strategy_version)
        if bench is None or name is None:
            raise ValidationFailed(f"The benchmark {name} has no close on or before {days[0]}.")
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
        benchmark=name,
        data_source=source,
        return_type=query.return_type,
        benchmark_return_type=bench_type,
        strategy_version=pub.strategy_version,
        start=days[0],
        end=days[-1],
        index=index,
        benchmark_metrics={k: v for k, v in alone.items() if k not in _NOT_RELATIVE},
        difference=difference,
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
