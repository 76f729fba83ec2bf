"""No look-ahead: changing prices after a date never changes weights decided on or before it.

The test is one day stricter than that sentence, as the design requires: weights decided on a date use
only data *before* it, so prices are changed from the cut date itself on, and the weights decided on
the cut date must not move either.
"""

from __future__ import annotations

import numpy as np
from autoindex.index.engine.index import compute_index
from autoindex.index.engine.strategy import StrategyParams
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.engine.data import business_days

params_strategy = st.builds(
    StrategyParams,
    momentum_lookback_days=st.integers(2, 12),
    volatility_lookback_days=st.integers(2, 12),
    rebalance_frequency=st.sampled_from(["daily", "weekly", "monthly"]),
    max_ffill_days=st.integers(0, 3),
    max_missing_share=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    outlier_sigma=st.sampled_from([1.0, 2.0, 3.0]),
    return_clip=st.sampled_from([0.05, 0.5]),
    momentum_drop_threshold=st.sampled_from([-0.5, 0.0, 0.05]),
    max_weight_per_asset=st.sampled_from([None, 0.3, 0.6]),
    transaction_cost_bps=st.sampled_from([0.0, 25.0]),
    risk_parity_method=st.sampled_from(["inverse_vol", "erc"]),
    momentum_skip_days=st.integers(0, 3),
    momentum_max_weight=st.sampled_from([None, 0.4]),
    stale_feed_days=st.integers(2, 6),
    drift_band=st.sampled_from([None, 0.02, 0.1]),
    drift_band_type=st.sampled_from(["absolute", "relative"]),
    drift_cooldown_days=st.integers(1, 5),
)


@settings(max_examples=60, deadline=None)
@given(
    params=params_strategy,
    seed=st.integers(0, 2**32 - 1),
    n_dates=st.integers(20, 70),
    n_assets=st.integers(1, 4),
    missing=st.sampled_from([0.0, 0.1, 0.3]),
    cut_share=st.floats(0.0, 1.0),
    with_caps=st.booleans(),
)
def test_future_prices_never_change_past_decisions(
    params: StrategyParams,
    seed: int,
    n_dates: int,
    n_assets: int,
    missing: float,
    cut_share: float,
    with_caps: bool,
) -> None:
    rng = np.random.default_rng(seed)
    dates = business_days("2022-01-03", n_dates)
    prices = 20 * np.cumprod(1 + rng.normal(0, 0.03, (n_dates, n_assets)), axis=0)
    prices[rng.random(prices.shape) < missing] = np.nan
    caps = prices * 1e6 if with_caps else None
    cut = int(cut_share * (n_dates - 1))

    # Everything from the cut date on changes: new moves, gaps, penny prices, and market caps.
    changed = prices.copy()
    later = changed[cut:]
    later *= rng.uniform(0.2, 5.0, later.shape)
    later[rng.random(later.shape) < 0.3] = np.nan
    later[rng.random(later.shape) < 0.1] = 0.5
    changed_caps = None if caps is None else np.where(np.arange(n_dates)[:, None] >= cut, caps * 7.0, caps)

    assets = tuple(f"A{i}" for i in range(n_assets))
    # Requested rebalances are inputs at dates too (never moved by later prices).
    requested = [dates[i].astype(object) for i in np.flatnonzero(rng.random(n_dates) < 0.1)]
    before = compute_index(dates, prices, params, assets=assets, market_caps=caps, requested=requested)
    after = compute_index(dates, changed, params, assets=assets, market_caps=changed_caps, requested=requested)

    limit = dates[cut].astype(object)
    old = [r for r in before.rebalances if r.date <= limit]
    new = [r for r in after.rebalances if r.date <= limit]
    assert [(r.date, r.trigger) for r in old] == [(r.date, r.trigger) for r in new]
    for a, b in zip(old, new, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.decision.eligible, b.decision.eligible)
        np.testing.assert_array_equal(a.decision.market_cap_fallback, b.decision.market_cap_fallback)
    # Index values before the cut depend on closes before it only, too.
    np.testing.assert_array_equal(before.values[before.dates < dates[cut]], after.values[after.dates < dates[cut]])
    assert [d for d in before.skipped_rebalances if d <= limit] == [d for d in after.skipped_rebalances if d <= limit]
