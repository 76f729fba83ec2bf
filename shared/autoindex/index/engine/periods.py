"""Risk metrics per period window (since inception, YTD, 1y, 3y) and as rolling series (30 and 90 days).

Each point follows the conventions of :mod:`autoindex.index.engine.metrics`. How the windows start and
end: ``docs/index-method.md`` ("Risk metrics").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from autoindex.index.engine._arrays import DateArray, FloatArray, check_dates, to_date
from autoindex.index.engine.metrics import TRADING_DAYS, RiskMetrics, daily_risk_free, risk_metrics, simple_returns

PERIODS = ("inception", "ytd", "1y", "3y")
ROLLING_WINDOWS = (30, 90)

_ANNUAL_SCALE = math.sqrt(TRADING_DAYS)


def period_start(dates: DateArray, period: str) -> int | None:
    """Index of the base date of ``period`` in ``dates``, or ``None`` when the history is too short."""
    days = check_dates(dates)
    end = to_date(days[-1])
    if period == "inception":
        return 0
    if period == "ytd":
        boundary = dt.date(end.year - 1, 12, 31)
    elif period in ("1y", "3y"):
        years = int(period[0])
        boundary = _years_before(end, years)
    else:
        raise ValueError(f"unknown period {period!r}; expected one of {PERIODS}")
    position = int(np.searchsorted(days, np.datetime64(boundary, "D"), side="right")) - 1
    if position < 0:
        return 0 if period == "ytd" else None
    return position


def period_metrics(
    dates: DateArray,
    values: npt.ArrayLike,
    benchmark: npt.ArrayLike | None = None,
    *,
    risk_free_rate: float = 0.0,
) -> dict[str, RiskMetrics | None]:
    """Risk metrics for each of :data:`PERIODS` (``None`` for a period longer than the history).

    Parameters are those of :func:`autoindex.index.engine.metrics.risk_metrics`.
    """
    days = check_dates(dates)
    level = np.asarray(values, dtype=np.float64)
    bench = None if benchmark is None else np.asarray(benchmark, dtype=np.float64)
    out: dict[str, RiskMetrics | None] = {}
    for period in PERIODS:
        start = period_start(days, period)
        if start is None:
            out[period] = None
            continue
        out[period] = risk_metrics(
            days[start:],
            level[start:],
            None if bench is None else bench[start:],
            risk_free_rate=risk_free_rate,
        )
    return out


@dataclass(frozen=True, slots=True)
class RollingMetrics:
    """Rolling risk metrics; arrays hold one value per window-end date, NaN where undefined."""

    window: int
    dates: DateArray
    total_return: FloatArray
    annualized_volatility: FloatArray
    sharpe_ratio: FloatArray
    sortino_ratio: FloatArray
    max_drawdown: FloatArray
    beta: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form: ``{"window": w, "items": [{"date": ..., ...}]}`` with NaN as ``None``."""
        names = ("total_return", "annualized_volatility", "sharpe_ratio", "sortino_ratio", "max_drawdown", "beta")
        columns = {name: getattr(self, name) for name in names}
        items = [
            {"date": str(day), **{name: _json(float(col[i])) for name, col in columns.items()}}
            for i, day in enumerate(self.dates)
        ]
        return {"window": self.window, "items": items}


def rolling_metrics(
    dates: DateArray,
    values: npt.ArrayLike,
    benchmark: npt.ArrayLike | None = None,
    *,
    window: int,
    risk_free_rate: float = 0.0,
) -> RollingMetrics:
    """Rolling total return, volatility, Sharpe, Sortino, maximum drawdown and beta over ``window`` returns.

    Parameters
    ----------
    dates, values, benchmark, risk_free_rate
        As for :func:`autoindex.index.engine.metrics.risk_metrics`.
    window
        Number of daily returns in each window (at least 2).

    Returns
    -------
    RollingMetrics
        Empty arrays when the series has fewer than ``window`` returns.
    """
    if window < 2:
        raise ValueError("a rolling window needs at least 2 returns")
    days = check_dates(dates)
    level = np.asarray(values, dtype=np.float64)
    if level.shape != days.shape:
        raise ValueError("values must have one value per date")
    r = simple_returns(level)
    if r.size < window:
        empty = np.empty(0)
        return RollingMetrics(window, days[:0], empty, empty, empty, empty, empty, empty)
    x = sliding_window_view(r, window)
    excess = x - daily_risk_free(risk_free_rate)
    with np.errstate(invalid="ignore", divide="ignore"):
        excess_mean = excess.mean(axis=1)
        downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2, axis=1)) * _ANNUAL_SCALE
        growth = np.cumprod(1.0 + x, axis=1, dtype=np.float64)
        peak = np.maximum(np.maximum.accumulate(growth, axis=1), 1.0)
        beta = np.full(x.shape[0], np.nan)
        if benchmark is not None:
            beta = _rolling_beta(x, simple_returns(np.asarray(benchmark, dtype=np.float64)), window)
        return RollingMetrics(
            window=window,
            dates=days[window:],
            total_return=growth[:, -1] - 1.0,
            annualized_volatility=_rolling_std(x) * _ANNUAL_SCALE,
            sharpe_ratio=_positive_ratio(excess_mean, _rolling_std(excess)) * _ANNUAL_SCALE,
            sortino_ratio=_positive_ratio(excess_mean * TRADING_DAYS, downside),
            max_drawdown=np.min(growth / peak - 1.0, axis=1),
            beta=beta,
        )


def _rolling_beta(x: FloatArray, bench_returns: FloatArray, window: int) -> FloatArray:
    if bench_returns.shape[0] != x.shape[0] + window - 1:
        raise ValueError("benchmark must have one value per date")
    b = sliding_window_view(bench_returns, window)
    centred = b - b.mean(axis=1, keepdims=True)
    variance = np.mean(centred * centred, axis=1)
    covariance = np.mean(centred * x, axis=1)
    out: FloatArray = np.where(variance >= 1e-30, covariance / variance, np.nan)
    return out


def _rolling_std(x: FloatArray) -> FloatArray:
    # Constant windows have exactly zero dispersion (see metrics._std).
    out: FloatArray = np.where(x.max(axis=1) == x.min(axis=1), 0.0, np.std(x, axis=1, ddof=1))
    return out


def _positive_ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out: FloatArray = np.where(denominator > 0.0, numerator / denominator, np.nan)
    return out


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _json(value: float) -> float | None:
    return value if math.isfinite(value) else None
