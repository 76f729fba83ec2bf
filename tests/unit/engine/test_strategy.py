"""Strategy parameters: the earlier version's defaults, and clear validation errors (they become 422s)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from autoindex.index.engine.strategy import StrategyParams
from pydantic import ValidationError


def test_defaults_are_the_earlier_versions() -> None:
    p = StrategyParams()
    assert (p.momentum_weight, p.market_cap_weight, p.risk_parity_weight) == (0.4, 0.3, 0.3)
    assert p.rebalance_frequency == "weekly"
    assert p.momentum_lookback_days == p.volatility_lookback_days == p.window_days == 60
    assert (p.min_price, p.max_ffill_days, p.return_clip, p.outlier_sigma) == (1.0, 2, 0.5, 3.0)
    assert p.max_weight_per_asset is None


def test_blend_must_sum_to_one_within_1e9() -> None:
    StrategyParams(momentum_weight=0.4, market_cap_weight=0.3, risk_parity_weight=0.3 + 5e-10)
    with pytest.raises(ValidationError, match=r"must sum to 1 \(got 0.4 \+ 0.3 \+ 0.2 = 0.9\)"):
        StrategyParams(momentum_weight=0.4, market_cap_weight=0.3, risk_parity_weight=0.2)
    with pytest.raises(ValidationError, match="must sum to 1"):
        StrategyParams(momentum_weight=0.4, market_cap_weight=0.3, risk_parity_weight=0.3 + 1e-8)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("momentum_weight", -0.1),
        ("momentum_weight", 1.5),
        ("momentum_lookback_days", 1),
        ("volatility_lookback_days", 0),
        ("rebalance_frequency", "hourly"),
        ("max_ffill_days", -1),
        ("max_missing_share", 1.2),
        ("return_clip", 0.0),
        ("outlier_sigma", float("nan")),
        ("max_weight_per_asset", 0.0),
        ("transaction_cost_bps", float("inf")),
        ("transaction_cost_bps", -1.0),
        ("surprise", 1),
    ],
)
def test_invalid_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        StrategyParams.model_validate({field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_parameters_are_immutable_values() -> None:
    p = StrategyParams()
    with pytest.raises(ValidationError):
        p.min_price = 2.0  # type: ignore[misc]
    assert p == StrategyParams.model_validate(p.model_dump(mode="json"))
    assert hash(p) == hash(StrategyParams())


def test_importing_the_parameters_does_not_load_numpy() -> None:
    code = "import sys, autoindex.index.engine.strategy; assert 'numpy' not in sys.modules, 'numpy loaded'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_a_benchmark_blend_must_be_a_portfolio() -> None:
    Params = StrategyParams

    blend = Params.model_validate(
        {"benchmark_blend": [{"symbol": "SPY", "weight": 0.6}, {"symbol": "IEF", "weight": 0.4}]}
    )
    assert blend.benchmark_name == "60% SPY / 40% IEF (monthly)" and Params().benchmark_name is None
    assert Params.model_validate(blend.model_dump(mode="json")) == blend
    for bad in (
        [{"symbol": "SPY", "weight": 0.6}],
        [{"symbol": "SPY", "weight": 0.5}, {"symbol": "SPY", "weight": 0.5}],
        [{"symbol": "spy!", "weight": 1.0}],
    ):
        with pytest.raises(ValidationError):
            Params.model_validate({"benchmark_blend": bad})


def test_a_stored_version_without_the_new_fields_reads_with_their_defaults() -> None:
    Params = StrategyParams

    earlier = {
        "momentum_weight": 0.4,
        "market_cap_weight": 0.3,
        "risk_parity_weight": 0.3,
        "rebalance_frequency": "weekly",
    }
    params = Params.model_validate(earlier)
    assert params.risk_parity_method == "inverse_vol" and params.drift_band is None
    assert params.benchmark_blend is None and params.stale_feed_days == 5 and params.momentum_skip_days == 0


def test_the_blend_is_rebalanced_on_its_schedule() -> None:
    import numpy as np
    from autoindex.index.engine.benchmark import blend_values

    dates = np.array(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"], dtype="datetime64[D]")
    closes = np.array([[10.0, 100.0], [11.0, 100.0], [11.0, 90.0], [np.nan, 99.0]])
    values = blend_values(dates, closes, [0.5, 0.5], "monthly")
    # 50/50 of 100; A +10 % -> 105; 1 Feb: B -10 % -> 50 x 1.1 + 50 x 0.9 = 100, then back to 50/50;
    # 2 Feb: A has no close (flat), B +10 % -> 50 + 55 = 105.
    np.testing.assert_allclose(values, [100.0, 105.0, 100.0, 105.0], rtol=1e-12)
