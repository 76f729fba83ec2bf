"""Each cleaning rule on hand-made closes, and cleaning in blocks equals one pass."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from autoindex.index.engine.cleaning import clean_prices
from autoindex.index.engine.strategy import StrategyParams

from tests.unit.engine.data import make_market

NAN = math.nan
P = StrategyParams(volatility_lookback_days=10, momentum_lookback_days=10)


def _column(closes: list[float], params: StrategyParams = P) -> tuple[list[bool], list[float], list[float]]:
    cleaned = clean_prices(np.array(closes)[:, None], params)
    return cleaned.present[:, 0].tolist(), cleaned.returns[:, 0].tolist(), cleaned.filled[:, 0].tolist()


def _same(a: list[float], b: list[float]) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-12) for x, y in zip(a, b, strict=True))


def test_minimum_price_makes_a_close_missing() -> None:
    present, returns, filled = _column([10.0, 0.5, 11.0, -3.0, 0.0, math.inf, 12.0])
    # 0.5, -3, 0 and inf are not usable: forward fill covers two days, the third is missing
    assert present == [True, True, True, True, True, False, True]
    assert _same(filled, [10.0, 10.0, 11.0, 11.0, 11.0, NAN, 12.0])
    assert _same(returns, [NAN, 0.0, 0.1, 0.0, 0.0, NAN, 12 / 11 - 1])


def test_forward_fill_is_bounded_and_a_gap_return_is_taken_when_trading_resumes() -> None:
    present, returns, _ = _column([10.0, NAN, NAN, NAN, NAN, 12.0, 12.6])
    assert present == [True, True, True, False, False, True, True]
    assert _same(returns, [NAN, 0.0, 0.0, NAN, NAN, 0.2, 0.05])
    no_fill = StrategyParams(volatility_lookback_days=10, momentum_lookback_days=10, max_ffill_days=0)
    present, returns, _ = _column([10.0, NAN, 11.0], no_fill)
    assert present == [True, False, True] and _same(returns, [NAN, NAN, 0.1])


def test_returns_are_clipped() -> None:
    _, returns, _ = _column([10.0, 20.0, 5.0])
    assert _same(returns, [NAN, 0.5, -0.5])


def test_an_outlier_is_pulled_back_to_the_band_of_the_days_before_it() -> None:
    ordinary = [0.010, -0.012, 0.008, -0.009, 0.011, -0.010, 0.009, -0.011, 0.012, -0.008, 0.010, -0.009]
    closes = list(100 * np.cumprod([1.0, *(1 + r for r in ordinary)]))
    closes.append(closes[-1] * 1.3)  # +30 %: far beyond 3 sigma of ~1 % days
    _, returns, _ = _column(closes)
    clipped = [b / a - 1 for a, b in itertools.pairwise(closes)]
    past = clipped[-11:-1]  # the 10 returns before the spike
    mean, sd = statistics.fmean(past), statistics.stdev(past)
    assert returns[-1] == pytest.approx(mean + 3 * sd, rel=1e-12)
    assert _same(returns[1:-1], clipped[:-1])  # the ordinary days are untouched


def test_the_outlier_test_needs_half_a_window_of_history() -> None:
    closes = [100.0, 100.5, 100.2, 100.6, 130.0]  # three returns before the spike: fewer than 5
    _, returns, _ = _column(closes)
    assert returns[-1] == pytest.approx(130.0 / 100.6 - 1, rel=1e-12)


def test_cleaning_in_blocks_equals_one_pass() -> None:
    market = make_market(21)
    whole = clean_prices(market.prices, P)
    first = clean_prices(market.prices[:73], P)
    second = clean_prices(market.prices[73:], P, first.carry)
    np.testing.assert_array_equal(np.vstack([first.present, second.present]), whole.present)
    np.testing.assert_allclose(np.vstack([first.returns, second.returns]), whole.returns, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(np.vstack([first.filled, second.filled]), whole.filled)
