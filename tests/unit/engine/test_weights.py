"""The weight rules on small hand-checked inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from autoindex.index.engine.erc import erc_weights, ledoit_wolf
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.engine.weights import (
    apply_weight_cap,
    daily_volatility_floor,
    decide_weights,
    eligibility,
    market_cap_weights,
    momentum_weights,
    risk_parity_weights,
    stale_feeds,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ALL = np.array([True, True, True])
P = StrategyParams(momentum_lookback_days=4, volatility_lookback_days=4, max_missing_share=0.25)


def test_eligibility_needs_a_recent_close_and_few_missing_days() -> None:
    nan = math.nan
    window = np.array(
        [
            [0.01, nan, nan, 0.01],
            [0.02, 0.01, nan, -0.01],
            [-0.01, 0.02, 0.01, 0.02],
            [0.01, 0.01, 0.02, 0.01],
        ]
    )
    present = np.array([True, True, True, False])
    # 1 missing of 4 is the limit (0.25); 2 missing is too many; no close the day before: out
    assert eligibility(window, present, P).tolist() == [True, True, False, False]


def test_momentum_keeps_assets_above_the_threshold_in_proportion_to_their_excess() -> None:
    weights, fallback = momentum_weights(np.array([0.1, -0.05, 0.3]), ALL, 0.0)
    np.testing.assert_allclose(weights, [0.25, 0.0, 0.75])
    assert not fallback
    weights, fallback = momentum_weights(np.array([0.1, -0.05, 0.3]), ALL, 0.2)
    np.testing.assert_allclose(weights, [0.0, 0.0, 1.0])
    weights, fallback = momentum_weights(np.array([-0.1, -0.05, -0.3]), ALL, 0.0)
    np.testing.assert_allclose(weights, [1 / 3] * 3)
    assert fallback


def test_market_cap_with_a_missing_capitalisation_flags_the_stand_in() -> None:
    weights, fallback = market_cap_weights(np.array([100.0, math.nan, 300.0]), ALL)
    np.testing.assert_allclose(weights, [2 / 3 * 0.25, 1 / 3, 2 / 3 * 0.75])
    assert fallback.tolist() == [False, True, False]
    weights, fallback = market_cap_weights(None, ALL)
    np.testing.assert_allclose(weights, [1 / 3] * 3)
    assert fallback.all()


def test_risk_parity_is_inverse_volatility_with_a_floor() -> None:
    floor = daily_volatility_floor(P)
    assert floor == pytest.approx(0.01 / math.sqrt(252))  # 1 % a year by default
    vols = np.array([0.01, 0.02, 0.04])
    np.testing.assert_allclose(risk_parity_weights(vols, ALL, floor), np.array([4, 2, 1]) / 7)
    floored = risk_parity_weights(np.array([0.0, 0.01, 0.01]), ALL, floor)
    assert floored[0] == pytest.approx((1 / floor) / (1 / floor + 200))
    assert floored[0] < 0.9  # with the old 1e-6 floor: 0.99995


def test_a_frozen_close_is_a_stale_feed_only_while_others_trade() -> None:
    params = StrategyParams(momentum_lookback_days=10, volatility_lookback_days=10, stale_feed_days=3)
    rng = np.random.default_rng(1)
    window = rng.normal(0, 0.01, (10, 3))
    window[-3:, 1] = 0.0  # frozen for 3 days
    window[-2:, 2] = 0.0  # only 2 days: not yet
    assert stale_feeds(window, params).tolist() == [False, True, False]
    assert not stale_feeds(np.zeros((10, 3)), params).any()  # nobody traded (a holiday feed): nothing flagged
    window[-1, 1] = math.nan  # a missing day is the fill rules' business, not a frozen close
    assert not stale_feeds(window, params)[1]


@pytest.mark.parametrize(
    ("weights", "cap", "expected"),
    [
        ([0.7, 0.2, 0.1], 0.4, [0.4, 0.4, 0.2]),
        ([0.6, 0.25, 0.15], 0.35, [0.35, 0.35, 0.3]),  # the redistribution itself overflows: a second round
        ([0.9, 0.1, 0.0], 0.5, [0.5, 0.5, 0.0]),
        ([1.0, 0.0, 0.0], 0.5, [0.5, 0.25, 0.25]),  # nothing positive below the cap: equal shares of the excess
    ],
)
def test_cap_redistributes_the_excess(weights: list[float], cap: float, expected: list[float]) -> None:
    capped, relaxed = apply_weight_cap(np.array(weights), ALL, cap)
    np.testing.assert_allclose(capped, expected, atol=1e-15)
    assert not relaxed and capped.sum() == pytest.approx(1.0, abs=1e-15)


def test_an_impossible_cap_is_relaxed_to_equal_weights_and_said() -> None:
    capped, relaxed = apply_weight_cap(np.array([0.5, 0.3, 0.2]), ALL, 0.2)
    np.testing.assert_allclose(capped, [1 / 3] * 3)
    assert relaxed


def test_the_decision_blends_the_three_schemes() -> None:
    rng = np.random.default_rng(8)
    window = rng.normal(0.001, 0.01, (4, 3))
    caps = np.array([1.0, 2.0, 5.0])
    decision = decide_weights(window, ALL, caps, P)
    assert decision is not None
    expected = 0.4 * decision.momentum + 0.3 * decision.market_cap + 0.3 * decision.risk_parity
    np.testing.assert_allclose(decision.weights, expected / expected.sum(), rtol=1e-15)
    np.testing.assert_allclose(decision.market_cap, caps / caps.sum())
    np.testing.assert_allclose(decision.volatilities, window.std(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(decision.momentum_scores, np.prod(1 + window, axis=0) - 1, rtol=1e-12)
    assert not decision.market_cap_fallback.any()
    assert decide_weights(window, np.zeros(3, dtype=bool), caps, P) is None


def _covariance(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    factor = rng.normal(0, 0.01, (120, 1))
    returns = factor * rng.uniform(0.2, 1.5, n) + rng.normal(0, 0.004, (120, n)) * rng.uniform(0.5, 3, n)
    return ledoit_wolf(returns)


@pytest.mark.parametrize(("seed", "n"), [(1, 2), (2, 4), (3, 7), (4, 12)])
def test_erc_matches_an_independent_solver_to_1e6(seed: int, n: int) -> None:
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    covariance = _covariance(seed, n)
    ours = erc_weights(covariance)
    # Independent: minimise the spread of risk contributions over the simplex with SLSQP.

    def spread(w: np.ndarray) -> float:
        contributions = w * (covariance @ w)
        return float(np.sum((contributions[:, None] - contributions[None, :]) ** 2)) * 1e10

    found = minimize(
        spread,
        np.full(n, 1 / n),
        method="SLSQP",
        bounds=[(1e-9, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}],
        options={"ftol": 1e-30, "maxiter": 2000},
    )
    np.testing.assert_allclose(ours, found.x, rtol=0, atol=1e-6)
    shares = ours * (covariance @ ours) / (ours @ covariance @ ours)
    np.testing.assert_allclose(shares, 1 / n, atol=1e-10)  # the stated tolerance
    inverse_vol = 1 / np.sqrt(np.diag(covariance))
    inverse_vol /= inverse_vol.sum()
    if n == 2:  # with two assets ERC is inverse volatility, whatever the correlation
        np.testing.assert_allclose(ours, inverse_vol, atol=1e-9)
    else:  # with more, correlations matter
        assert not np.allclose(ours, inverse_vol, atol=1e-3)


def test_ledoit_wolf_shrinks_toward_the_average_variance() -> None:
    rng = np.random.default_rng(5)
    returns = rng.normal(0, 0.01, (30, 8))  # few days for many assets: the sample matrix is noisy
    shrunk = ledoit_wolf(returns)
    x = returns - returns.mean(axis=0)
    sample = x.T @ x / 30
    mu = np.trace(sample) / 8
    # A convex combination of the sample matrix and mu*I, with the same trace, better conditioned.
    off = ~np.eye(8, dtype=bool)
    intensity = 1 - shrunk[off] / sample[off]
    assert np.allclose(intensity, intensity[0]) and 0 < intensity[0] <= 1
    assert np.trace(shrunk) == pytest.approx(np.trace(sample))
    assert np.allclose(np.diag(shrunk), intensity[0] * mu + (1 - intensity[0]) * np.diag(sample))
    assert np.linalg.cond(shrunk) < np.linalg.cond(sample)


# Rank one plus the default floor's ridge: a short window of assets moving together, as the look-ahead
# property test drew once; the line search stalled 4e-7 short of the tolerance on it.
_NEARLY_SINGULAR = np.array(
    [
        [1.2848996450424152e-01, -8.6629796358477812e-02, 3.3818332852931020e-03],
        [-8.6629796358477812e-02, 5.8407641496568345e-02, -2.2800880578532703e-03],
        [3.3818332852931020e-03, -2.2800880578532703e-03, 8.9406358046995228e-05],
    ]
)


def test_erc_reaches_the_tolerance_on_a_nearly_singular_matrix() -> None:
    weights = erc_weights(_NEARLY_SINGULAR)
    shares = weights * (_NEARLY_SINGULAR @ weights) / (weights @ _NEARLY_SINGULAR @ weights)
    np.testing.assert_allclose(shares, 1 / 3, atol=1e-10)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    days=st.integers(2, 12),
    n=st.integers(2, 5),
    floor=st.sampled_from([1e-5, 1e-3, 0.01, 0.1]),
)
def test_erc_converges_on_short_windows_of_co_moving_assets(seed: int, days: int, n: int, floor: float) -> None:
    rng = np.random.default_rng(seed)
    factor = rng.normal(0, 0.03, (days, 1))
    returns = factor * rng.uniform(-2, 2, n) + rng.normal(0, 1e-6, (days, n))
    covariance = ledoit_wolf(returns) + (floor / np.sqrt(252)) ** 2 * np.eye(n)
    weights = erc_weights(covariance)
    shares = weights * (covariance @ weights) / (weights @ covariance @ weights)
    allowed = max(1e-10, 64 * np.finfo(float).eps * np.linalg.cond(covariance))
    assert np.all(weights > 0) and abs(weights.sum() - 1) < 1e-12
    np.testing.assert_allclose(shares, 1 / n, atol=allowed)
