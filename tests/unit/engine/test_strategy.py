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
