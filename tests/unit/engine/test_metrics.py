"""Risk metrics cross-checked against empyrical (empyrical-reloaded) on the same series, to 1e-9 relative.

Each comparison names the convention that the two share: daily simple returns, 252 periods a year,
ddof=1, the daily risk-free rate subtracted from every return.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import empyrical as ep  # type: ignore[import-untyped]
import numpy as np
import pytest
from autoindex.index.engine.metrics import TRADING_DAYS, daily_risk_free, drawdown, risk_metrics, simple_returns
from autoindex.index.engine.periods import rolling_metrics

from tests.unit.engine.data import business_days

RTOL = 1e-9
RISK_FREE = 0.04  # annual


def _series(seed: int, n: int = 800) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bench_returns = rng.normal(0.0003, 0.011, n)
    returns = 0.0002 + 0.8 * bench_returns + rng.normal(0, 0.006, n)
    dates = business_days("2019-01-02", n + 1)
    values = 100 * np.concatenate([[1.0], np.cumprod(1 + returns)])
    bench = 2500 * np.concatenate([[1.0], np.cumprod(1 + bench_returns)])
    return dates, values, bench


@pytest.fixture(params=[1, 2, 3])
def series(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _series(request.param)


def test_risk_metrics_match_empyrical(series: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    dates, values, bench = series
    r, b = simple_returns(values), simple_returns(bench)
    rf = daily_risk_free(RISK_FREE)
    got = risk_metrics(dates, values, bench, risk_free_rate=RISK_FREE)
    expected = {
        # compounded simple returns
        "total_return": ep.cum_returns_final(r),
        # CAGR with len(r) / 252 years
        "annualized_return": ep.annual_return(r),
        # ddof=1 standard deviation times sqrt(252)
        "annualized_volatility": ep.annual_volatility(r),
        # mean / std (ddof=1) of r - rf_d, times sqrt(252)
        "sharpe_ratio": ep.sharpe_ratio(r, risk_free=rf),
        # mean(r - rf_d) * 252 over downside deviation below rf_d (population, over all days) * sqrt(252)
        "sortino_ratio": ep.sortino_ratio(r, required_return=rf),
        # anchored at the first value
        "max_drawdown": ep.max_drawdown(r),
        "calmar_ratio": ep.calmar_ratio(r),
        # numpy.percentile with linear interpolation; CVaR the mean of the worst floor((n-1)*tail)+1
        "var_95": ep.value_at_risk(r, cutoff=0.05),
        "var_99": ep.value_at_risk(r, cutoff=0.01),
        "cvar_95": ep.conditional_value_at_risk(r, cutoff=0.05),
        "cvar_99": ep.conditional_value_at_risk(r, cutoff=0.01),
        # cov / var (ddof cancels)
        "beta": ep.beta(r, b),
        # mean daily CAPM excess over rf_d, compounded over 252 days
        "alpha": ep.alpha(r, b, risk_free=rf),
        # annualised volatility of active returns
        "tracking_error": ep.annual_volatility(r - b),
        # empyrical's excess_sharpe (not annualised) times sqrt(252)
        "information_ratio": ep.excess_sharpe(r, b) * math.sqrt(TRADING_DAYS),
        # Pearson on daily returns (empyrical has none: numpy's corrcoef)
        "correlation": np.corrcoef(r, b)[0, 1],
    }
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(float(value), rel=RTOL, abs=0), name
    assert got.observations == r.size


def test_rolling_metrics_match_empyrical(series: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    dates, values, bench = series
    r, b = simple_returns(values), simple_returns(bench)
    rf = daily_risk_free(RISK_FREE)
    for window in (30, 90):
        got = rolling_metrics(dates, values, bench, window=window, risk_free_rate=RISK_FREE)
        np.testing.assert_array_equal(got.dates, dates[window:])
        # each point: the `window` returns ending on that date, empyrical's rolling alignment
        np.testing.assert_allclose(got.annualized_volatility, ep.roll_annual_volatility(r, window), rtol=RTOL)
        np.testing.assert_allclose(got.sharpe_ratio, ep.roll_sharpe_ratio(r, window, risk_free=rf), rtol=RTOL)
        np.testing.assert_allclose(got.sortino_ratio, ep.roll_sortino_ratio(r, window, required_return=rf), rtol=RTOL)
        np.testing.assert_allclose(got.max_drawdown, ep.roll_max_drawdown(r, window), rtol=RTOL)
        np.testing.assert_allclose(got.beta, ep.roll_beta(r, b, window), rtol=RTOL)
        # compounded return of each window (empyrical has no rolling form: one call per window)
        totals = [ep.cum_returns_final(r[end - window : end]) for end in range(window, r.size + 1)]
        np.testing.assert_allclose(got.total_return, totals, rtol=RTOL)


def test_risk_free_rate_is_deannualised_geometrically() -> None:
    daily = daily_risk_free(0.05)
    assert (1 + daily) ** TRADING_DAYS - 1 == pytest.approx(0.05, rel=1e-12)
    assert daily < 0.05 / TRADING_DAYS  # geometric, not the simple division


def test_drawdown_dates_by_hand() -> None:
    dates = business_days("2024-01-01", 8)
    values = np.array([100.0, 110.0, 105.0, 90.0, 95.0, 111.0, 100.0, 104.0])
    dd = drawdown(dates, values)
    assert dd.max_drawdown == pytest.approx(90 / 110 - 1, rel=1e-15)
    assert (dd.peak_date, dd.trough_date, dd.recovery_date) == (
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 4),
        dt.date(2024, 1, 8),
    )
    assert dd.current_drawdown == pytest.approx(104 / 111 - 1, rel=1e-15)

    unrecovered = drawdown(dates[:5], values[:5])
    assert unrecovered.trough_date == dt.date(2024, 1, 4) and unrecovered.recovery_date is None

    # equal highs: the peak is the last time the high was set before the trough
    flat_top = drawdown(dates[:4], np.array([100.0, 120.0, 120.0, 60.0]))
    assert flat_top.peak_date == dt.date(2024, 1, 3) and flat_top.max_drawdown == -0.5


def test_undefined_figures_are_none_not_nan() -> None:
    dates = business_days("2024-01-01", 300)  # over a year, so annualised figures are given
    rising = risk_metrics(dates, np.full(300, 100.0), np.ones(300))
    assert rising.annualized and rising.reason is None
    assert rising.max_drawdown == 0.0 and rising.max_drawdown_peak_date is None
    assert rising.calmar_ratio is None
    assert rising.annualized_volatility == 0.0  # a flat series: no dispersion
    assert rising.sharpe_ratio is None and rising.sortino_ratio is None
    assert rising.beta is None and rising.correlation is None  # the benchmark does not move
    single = risk_metrics(dates[:1], [100.0])
    assert single.observations == 0 and single.annualized_volatility is None and single.beta is None
    json.dumps(rising.to_dict(), allow_nan=False)


def test_bad_series_are_refused() -> None:
    dates = business_days("2024-01-01", 3)
    with pytest.raises(ValueError, match="positive"):
        risk_metrics(dates, [100.0, float("nan"), 101.0])
    with pytest.raises(ValueError, match="one value per date"):
        risk_metrics(dates, [100.0, 101.0], None)


@pytest.mark.parametrize("days", [3, 9, 200])
def test_periods_under_a_year_are_not_annualised(days: int) -> None:
    """GIPS: a 2-day range gave a CAGR of -66 %, an 8-day one 294 % with a Sharpe of 34."""
    dates, values, bench = _series(4, days - 1)
    short = risk_metrics(dates, values, bench, risk_free_rate=RISK_FREE)
    assert not short.annualized and short.reason is not None and "under one year" in short.reason
    for name in ("annualized_return", "annualized_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio"):
        assert getattr(short, name) is None, name
    assert short.alpha is None and short.tracking_error is None and short.information_ratio is None
    # The cumulative return is given, and the figures that are not annualised stay.
    assert short.total_return == pytest.approx(values[-1] / values[0] - 1, rel=1e-12)
    assert short.max_drawdown is not None and short.beta is not None
    payload = short.to_dict()
    assert payload["annualized"] is False and payload["annualized_return"] is None and payload["reason"]


def test_a_year_to_the_day_is_annualised() -> None:
    dates = np.array([np.datetime64("2023-03-15"), np.datetime64("2023-09-15"), np.datetime64("2024-03-15")])
    assert risk_metrics(dates, [100.0, 104.0, 110.0]).annualized
    assert not risk_metrics(dates[:2], [100.0, 104.0]).annualized
