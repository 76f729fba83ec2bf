"""Risk metrics of a daily value series, alone and against a benchmark.

The conventions are those of ``empyrical`` 0.7, so the tests cross-check them. The formulas and
conventions: ``docs/index-method.md`` ("Risk metrics").

A figure that is undefined (fewer than two returns, zero dispersion, no drawdown) is ``None`` in
:class:`RiskMetrics`; the array functions return NaN for it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from autoindex.index.engine._arrays import DateArray, FloatArray, check_dates, to_date

TRADING_DAYS = 252
VAR_TAILS = {"95": 0.05, "99": 0.01}

_ANNUAL_SCALE = math.sqrt(TRADING_DAYS)


def simple_returns(values: FloatArray) -> FloatArray:
    """Daily simple returns of a value series (one fewer than values)."""
    returns: FloatArray = values[1:] / values[:-1] - 1.0
    return returns


def daily_risk_free(annual_rate: float) -> float:
    """The daily rate compounding to ``annual_rate`` over 252 periods."""
    return float((1.0 + annual_rate) ** (1.0 / TRADING_DAYS) - 1.0)


def total_return(returns: FloatArray) -> float:
    """Compounded return of the series."""
    return float(np.prod(1.0 + returns) - 1.0) if returns.size else math.nan


def annualized_return(returns: FloatArray) -> float:
    """CAGR with ``len(returns) / 252`` years."""
    if returns.size == 0:
        return math.nan
    return float(np.prod(1.0 + returns) ** (TRADING_DAYS / returns.size) - 1.0)


def annualized_volatility(returns: FloatArray) -> float:
    """Sample standard deviation times sqrt(252)."""
    return _std(returns) * _ANNUAL_SCALE


def sharpe_ratio(returns: FloatArray, risk_free_daily: float = 0.0) -> float:
    """Annualised Sharpe ratio of daily returns over a daily risk-free rate."""
    excess = returns - risk_free_daily
    return _ratio(float(np.mean(excess)) if excess.size else math.nan, _std(excess)) * _ANNUAL_SCALE


def sortino_ratio(returns: FloatArray, risk_free_daily: float = 0.0) -> float:
    """Annualised Sortino ratio, downside deviation below the daily risk-free rate over all days."""
    if returns.size < 2:
        return math.nan
    excess = returns - risk_free_daily
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * _ANNUAL_SCALE
    return _ratio(float(np.mean(excess)) * TRADING_DAYS, downside)


def value_at_risk(returns: FloatArray, tail: float) -> float:
    """Historical VaR: the ``tail`` quantile of daily returns, linearly interpolated (a return, not a loss)."""
    return float(np.percentile(returns, 100.0 * tail)) if returns.size else math.nan


def conditional_value_at_risk(returns: FloatArray, tail: float) -> float:
    """Historical CVaR: mean of the worst ``floor((n - 1) * tail) + 1`` daily returns."""
    if returns.size == 0:
        return math.nan
    cut = int((returns.size - 1) * tail)
    return float(np.mean(np.partition(returns, cut)[: cut + 1]))


def beta(returns: FloatArray, benchmark: FloatArray) -> float:
    """``cov(r, b) / var(b)`` (NaN when the benchmark does not move)."""
    if returns.size < 2:
        return math.nan
    centred = benchmark - np.mean(benchmark)
    variance = float(np.mean(centred * centred))
    return float(np.mean(centred * returns)) / variance if variance >= 1e-30 else math.nan


def alpha(returns: FloatArray, benchmark: FloatArray, risk_free_daily: float = 0.0) -> float:
    """Jensen's alpha per day, compounded over 252 days."""
    slope = beta(returns, benchmark)
    daily = np.mean((returns - risk_free_daily) - slope * (benchmark - risk_free_daily))
    return float((1.0 + daily) ** TRADING_DAYS - 1.0)


def correlation(returns: FloatArray, benchmark: FloatArray) -> float:
    """Pearson correlation of daily returns."""
    if returns.size < 2:
        return math.nan
    a, b = returns - np.mean(returns), benchmark - np.mean(benchmark)
    return _ratio(float(np.sum(a * b)), math.sqrt(float(np.sum(a * a)) * float(np.sum(b * b))))


def tracking_error(returns: FloatArray, benchmark: FloatArray) -> float:
    """Annualised sample standard deviation of active returns."""
    return _std(returns - benchmark) * _ANNUAL_SCALE


def information_ratio(returns: FloatArray, benchmark: FloatArray) -> float:
    """Annualised mean active return over its sample standard deviation."""
    active = returns - benchmark
    return _ratio(float(np.mean(active)) if active.size else math.nan, _std(active)) * _ANNUAL_SCALE


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Maximum and current drawdown of a value series, with dates (``None`` when not applicable)."""

    max_drawdown: float
    peak_date: dt.date | None
    trough_date: dt.date | None
    recovery_date: dt.date | None
    current_drawdown: float


def drawdown(dates: DateArray, values: FloatArray) -> Drawdown:
    """Maximum drawdown with its peak, trough and recovery dates, and the current drawdown."""
    running_max = np.maximum.accumulate(values)
    depth = values / running_max - 1.0
    current = float(depth[-1])
    trough = int(np.argmin(depth))
    if depth[trough] >= 0.0:
        return Drawdown(0.0, None, None, None, current)
    peak = trough - int(np.argmax(values[trough::-1] == running_max[trough]))
    after = np.flatnonzero(values[trough:] >= values[peak])
    recovery = to_date(dates[trough + int(after[0])]) if after.size else None
    return Drawdown(float(depth[trough]), to_date(dates[peak]), to_date(dates[trough]), recovery, current)


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    """The risk metrics of one window; relative ones are ``None`` without a benchmark."""

    start_date: dt.date
    end_date: dt.date
    observations: int
    total_return: float | None
    annualized_return: float | None
    annualized_volatility: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    max_drawdown: float | None
    max_drawdown_peak_date: dt.date | None
    max_drawdown_trough_date: dt.date | None
    max_drawdown_recovery_date: dt.date | None
    current_drawdown: float | None
    calmar_ratio: float | None
    var_95: float | None
    cvar_95: float | None
    var_99: float | None
    cvar_99: float | None
    beta: float | None
    alpha: float | None
    correlation: float | None
    tracking_error: float | None
    information_ratio: float | None
    annualized: bool = True
    reason: str | None = None  # why the annualised figures are null (a period under a year)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (dates as ISO strings)."""
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in asdict(self).items()}


def risk_metrics(
    dates: DateArray,
    values: npt.ArrayLike,
    benchmark: npt.ArrayLike | None = None,
    *,
    risk_free_rate: float = 0.0,
) -> RiskMetrics:
    """All risk metrics of a daily value series over its whole span.

    Parameters
    ----------
    dates
        Strictly increasing dates of the values.
    values
        Positive values (an index level, or a price for a benchmark), one per date.
    benchmark
        Benchmark values on the same dates, or ``None``.
    risk_free_rate
        Annual risk-free rate (0.04 for 4 %), de-annualised geometrically.

    Returns
    -------
    RiskMetrics
    """
    days = check_dates(dates)
    level = _series(values, days.size, "values")
    if days.size == 0:
        raise ValueError("risk metrics need at least one value")
    r = simple_returns(level)
    rf = daily_risk_free(risk_free_rate)
    dd = drawdown(days, level)
    start, end = to_date(days[0]), to_date(days[-1])
    # GIPS: a return for a period under a year is not annualised; neither is any figure built on one.
    short = is_under_a_year(start, end)

    def scaled(value: float) -> float | None:
        return None if short else _clean(value)

    annual = annualized_return(r)
    relative: dict[str, float | None] = dict.fromkeys(
        ("beta", "alpha", "correlation", "tracking_error", "information_ratio")
    )
    if benchmark is not None:
        b = simple_returns(_series(benchmark, days.size, "benchmark"))
        relative = {
            "beta": _clean(beta(r, b)),
            "alpha": scaled(alpha(r, b, rf)),
            "correlation": _clean(correlation(r, b)),
            "tracking_error": scaled(tracking_error(r, b)),
            "information_ratio": scaled(information_ratio(r, b)),
        }
    return RiskMetrics(
        start_date=start,
        end_date=end,
        observations=int(r.size),
        total_return=_clean(total_return(r)),
        annualized_return=scaled(annual),
        annualized_volatility=scaled(annualized_volatility(r)),
        sharpe_ratio=scaled(sharpe_ratio(r, rf)),
        sortino_ratio=scaled(sortino_ratio(r, rf)),
        max_drawdown=dd.max_drawdown,
        max_drawdown_peak_date=dd.peak_date,
        max_drawdown_trough_date=dd.trough_date,
        max_drawdown_recovery_date=dd.recovery_date,
        current_drawdown=dd.current_drawdown,
        calmar_ratio=scaled(annual / abs(dd.max_drawdown)) if dd.max_drawdown < 0.0 else None,
        var_95=_clean(value_at_risk(r, VAR_TAILS["95"])),
        cvar_95=_clean(conditional_value_at_risk(r, VAR_TAILS["95"])),
        var_99=_clean(value_at_risk(r, VAR_TAILS["99"])),
        cvar_99=_clean(conditional_value_at_risk(r, VAR_TAILS["99"])),
        beta=relative["beta"],
        alpha=relative["alpha"],
        correlation=relative["correlation"],
        tracking_error=relative["tracking_error"],
        information_ratio=relative["information_ratio"],
        annualized=not short,
        reason=UNDER_A_YEAR if short else None,
    )


#: The figures that scale a period to a year; ``null`` for a period under a year.
ANNUALISED_FIGURES = (
    "annualized_return",
    "annualized_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "alpha",
    "tracking_error",
    "information_ratio",
)
UNDER_A_YEAR = (
    "period under one year: annualised figures are not given (GIPS); see total_return for the cumulative return"
)


def is_under_a_year(start: dt.date, end: dt.date) -> bool:
    """Whether ``end`` falls before the same calendar day one year after ``start`` (29 Feb: 28 Feb)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + 1, day=28)
    return end < anniversary


def _series(values: npt.ArrayLike, size: int, name: str) -> FloatArray:
    series = np.asarray(values, dtype=np.float64)
    if series.shape != (size,):
        raise ValueError(f"{name} must have one value per date ({size}), got shape {series.shape}")
    if not bool(np.all(np.isfinite(series) & (series > 0.0))):
        raise ValueError(f"{name} must be finite and positive")
    return series


def _std(values: FloatArray) -> float:
    if values.size < 2:
        return math.nan
    # A constant series has no dispersion: exactly 0, not the rounding noise of its mean (as empyrical).
    return 0.0 if values.min() == values.max() else float(np.std(values, ddof=1))


def _ratio(numerator: float, denominator: float) -> float:
    if not math.isfinite(denominator) or denominator <= 0.0:
        return math.nan
    return numerator / denominator


def _clean(value: float) -> float | None:
    return value if math.isfinite(value) else None
