"""Extending the index by new days gives the numbers of a full recompute (to 1e-12)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Literal

import numpy as np
import pytest
from autoindex.index.engine.index import IndexResult, compute_index, extend_index
from autoindex.index.engine.state import IndexState, StateMismatch
from autoindex.index.engine.strategy import StrategyParams

from tests.unit.engine.data import make_market

PARAMS = StrategyParams(momentum_lookback_days=20, volatility_lookback_days=15, transaction_cost_bps=10)


def _extend_in_chunks(
    cuts: list[int], params: StrategyParams = PARAMS, seed: int = 11, requested: tuple[dt.date, ...] = ()
) -> tuple[IndexResult, list[IndexResult]]:
    market = make_market(seed)
    full = compute_index(
        market.dates, market.prices, params, assets=market.assets, market_caps=market.caps, requested=requested
    )
    bounds = [0, *cuts, len(market.dates)]
    state = IndexState.initial(params, market.assets)
    parts = []
    for start, stop in itertools.pairwise(bounds):
        part = extend_index(
            state,
            market.dates[start:stop],
            market.prices[start:stop],
            params,
            assets=market.assets,
            market_caps=market.caps[start:stop],
            requested=requested,
        )
        parts.append(part)
        state = part.state
    return full, parts


def _assert_same(full: IndexResult, parts: list[IndexResult]) -> None:
    dates = np.concatenate([p.dates for p in parts])
    np.testing.assert_array_equal(dates, full.dates)
    np.testing.assert_allclose(np.concatenate([p.values for p in parts]), full.values, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.vstack([p.weights for p in parts]), full.weights, rtol=0, atol=1e-12)
    rebalances = [r for p in parts for r in p.rebalances]
    assert [r.date for r in rebalances] == [r.date for r in full.rebalances]
    np.testing.assert_allclose([r.weights for r in rebalances], [r.weights for r in full.rebalances], atol=1e-12)
    np.testing.assert_allclose([r.turnover for r in rebalances], [r.turnover for r in full.rebalances], atol=1e-12)
    last, whole = parts[-1].state, full.state
    assert last.last_date == whole.last_date and last.last_rebalance == whole.last_rebalance
    assert last.value == pytest.approx(whole.value, rel=1e-12)
    np.testing.assert_allclose(last.positions, whole.positions, rtol=1e-12)
    np.testing.assert_allclose(last.return_tail, whole.return_tail, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "cuts",
    [
        [159],  # the classic case: one new day
        [5, 10],  # extensions before the index exists (warm-up)
        [19, 20, 21],  # around the formation date
        [60, 61, 62, 63, 64, 65, 66, 67, 68],  # day by day across a weekly rebalance
        [53, 75, 106, 107],  # across the listing, the long gap and the delisting
    ],
)
def test_extension_equals_full_recompute(cuts: list[int]) -> None:
    full, parts = _extend_in_chunks(cuts)
    _assert_same(full, parts)


@pytest.mark.parametrize("cuts", [[159], [19, 20, 21], [60, 61, 62, 63, 64, 65, 66, 67, 68], [53, 75, 106, 107]])
def test_extension_equals_full_recompute_with_erc_and_momentum_rules(cuts: list[int]) -> None:
    params = StrategyParams(
        momentum_lookback_days=15,
        momentum_skip_days=3,
        momentum_max_weight=0.35,
        volatility_lookback_days=20,
        risk_parity_method="erc",
        rebalance_frequency="daily",
    )
    full, parts = _extend_in_chunks(cuts, params)
    _assert_same(full, parts)


@pytest.mark.parametrize("cuts", [[159], [60, 61, 62, 63, 64, 65, 66, 67, 68], [53, 75, 106, 107], [100, 101, 102]])
@pytest.mark.parametrize("band_type", ["absolute", "relative"])
def test_extension_equals_full_recompute_with_drift_bands_and_requests(
    cuts: list[int], band_type: Literal["absolute", "relative"]
) -> None:
    params = StrategyParams(
        momentum_lookback_days=20,
        volatility_lookback_days=15,
        rebalance_frequency="monthly",
        drift_band=0.02 if band_type == "absolute" else 0.1,
        drift_band_type=band_type,
        drift_cooldown_days=3,
    )
    days = make_market(11).day_list
    full, parts = _extend_in_chunks(cuts, params, requested=(days[64], days[101], days[150]))
    assert {r.trigger for r in full.rebalances} == {"schedule", "drift", "request"}
    _assert_same(full, parts)
    rebalances = [r for p in parts for r in p.rebalances]
    assert [r.trigger for r in rebalances] == [r.trigger for r in full.rebalances]


def test_day_by_day_extension_over_the_whole_history() -> None:
    daily = PARAMS.model_copy(update={"rebalance_frequency": "daily", "max_weight_per_asset": 0.3})
    full, parts = _extend_in_chunks(list(range(1, 160)), params=daily, seed=12)
    _assert_same(full, parts)


def test_state_survives_a_json_round_trip() -> None:
    market = make_market(13)
    head = compute_index(
        market.dates[:100], market.prices[:100], PARAMS, assets=market.assets, market_caps=market.caps[:100]
    )
    stored = json.loads(json.dumps(head.state.to_dict(), allow_nan=False))
    restored = IndexState.from_dict(stored)
    tail = extend_index(
        restored, market.dates[100:], market.prices[100:], PARAMS, assets=market.assets, market_caps=market.caps[100:]
    )
    full = compute_index(market.dates, market.prices, PARAMS, assets=market.assets, market_caps=market.caps)
    _assert_same(full, [head, tail])
    np.testing.assert_allclose(restored.weights, head.weights[-1], atol=1e-15)


def test_extension_with_no_new_days_changes_nothing() -> None:
    full, _ = _extend_in_chunks([])
    same = extend_index(full.state, full.dates[:0], np.empty((0, 6)), PARAMS, assets=full.assets)
    assert same.dates.size == 0 and same.rebalances == ()
    assert same.state.last_date == full.state.last_date and same.state.value == full.state.value


def test_extension_refuses_a_changed_strategy_assets_or_old_dates() -> None:
    market = make_market(14)
    head = compute_index(market.dates[:100], market.prices[:100], PARAMS, assets=market.assets)
    with pytest.raises(StateMismatch, match="strategy changed"):
        extend_index(head.state, market.dates[100:], market.prices[100:], StrategyParams(), assets=market.assets)
    with pytest.raises(StateMismatch, match="assets differ"):
        extend_index(head.state, market.dates[100:], market.prices[100:], PARAMS, assets=market.assets[::-1])
    with pytest.raises(StateMismatch, match="after the state's last date"):
        extend_index(head.state, market.dates[99:], market.prices[99:], PARAMS, assets=market.assets)
    with pytest.raises(StateMismatch, match="format"):
        IndexState.from_dict({**head.state.to_dict(), "format": 99})
