"""The strategy parameters of the index, validated once.

This module imports no NumPy: the strategy routes validate a ``PUT`` body with it at cold start. A
validation error names the field and the rule, so the web layer can turn it into a 422 as it is. The
parameters, their defaults and how the method uses them: ``docs/index-method.md``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RebalanceFrequency = Literal["daily", "weekly", "monthly"]
RiskParityMethod = Literal["inverse_vol", "erc"]
DriftBandType = Literal["absolute", "relative"]

#: How far the three blend weights may sum away from 1.
WEIGHT_SUM_TOLERANCE = 1e-9

_Share = Annotated[float, Field(ge=0.0, le=1.0)]


class BlendPart(BaseModel):
    """One asset of a benchmark blend and its weight."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)

    symbol: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,11}(/[A-Z]{3})?$")]
    weight: Annotated[float, Field(gt=0.0, le=1.0)]


class StrategyParams(BaseModel):
    """One version of the strategy: blend, look-backs, rebalancing, data cleaning and costs.

    The instance is immutable and hashable; two instances with the same values are equal, which is
    how an incremental extension checks that the strategy has not changed since the last compute.
    """

    # Strict: a JSON true is not the number 1, as the schema says.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)

    # --- the blend of the three weighting schemes
    momentum_weight: _Share = Field(0.4, description="Share of the momentum scheme in the blend.")
    market_cap_weight: _Share = Field(0.3, description="Share of the market-capitalisation scheme in the blend.")
    risk_parity_weight: _Share = Field(0.3, description="Share of the inverse-volatility scheme in the blend.")

    # --- signals
    momentum_lookback_days: int = Field(60, ge=2, le=1260, description="Trading days of the momentum window.")
    momentum_drop_threshold: float = Field(
        0.0,
        ge=-1.0,
        le=10.0,
        description="Assets whose momentum (compounded return over the window) is not above this are dropped "
        "from the momentum scheme.",
    )
    momentum_skip_days: int = Field(
        0,
        ge=0,
        le=252,
        description="The momentum window ends this many trading days before the rebalance (skips the most "
        "recent days, as the 12-1 convention does).",
    )
    momentum_max_weight: float | None = Field(
        None, gt=0.0, le=1.0, description="Optional cap on any asset's weight within the momentum scheme."
    )
    risk_parity_method: RiskParityMethod = Field(
        "inverse_vol",
        description="inverse_vol (1/sigma) or erc (equal risk contributions from a Ledoit-Wolf shrunk covariance).",
    )
    volatility_lookback_days: int = Field(
        60, ge=2, le=1260, description="Trading days of the volatility window (risk parity and outlier test)."
    )
    rebalance_frequency: RebalanceFrequency = Field(
        "weekly", description="daily, weekly (first trading day of each ISO week) or monthly (first of each month)."
    )

    drift_band: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Optional band: a rebalance also happens when a drifted weight leaves it (see drift_band_type).",
    )
    drift_band_type: DriftBandType = Field(
        "absolute",
        description="absolute: |w - target| > band; relative: |w - target| > band x target.",
    )
    drift_cooldown_days: int = Field(
        5, ge=1, le=252, description="Trading days after any rebalance before the drift band may trigger one."
    )

    # --- the benchmark
    benchmark_blend: tuple[BlendPart, ...] | None = Field(
        None,
        strict=False,  # a stored or posted JSON list of objects becomes the tuple of parts (each part is strict)
        min_length=1,
        max_length=20,
        description="Optional benchmark: a blend of stored assets (weights summing to 1), such as 60 % SPY and "
        "40 % IEF; without one, the benchmark asset (SPX by default) is the benchmark.",
    )
    benchmark_rebalance: RebalanceFrequency = Field(
        "monthly", description="How often the benchmark blend is brought back to its weights."
    )

    # --- data cleaning
    min_price: float = Field(1.0, ge=0.0, le=1e6, description="Closes below this are treated as missing.")
    max_ffill_days: int = Field(
        2, ge=0, le=30, description="A missing close is filled from the last one for at most this many trading days."
    )
    max_missing_share: _Share = Field(
        0.1, description="An asset missing more than this share of the look-back window is not eligible."
    )
    return_clip: float = Field(0.5, gt=0.0, le=10.0, description="Daily returns are clipped to +/- this.")
    outlier_sigma: float = Field(
        3.0,
        gt=0.0,
        le=100.0,
        description="Daily returns further than this many sigma from the trailing mean are pulled back to the band.",
    )

    stale_feed_days: int = Field(
        5,
        ge=2,
        le=252,
        description="An asset whose close has not changed for this many trading days while others traded is a "
        "stale feed: not eligible from the next rebalance (at most the look-back window is examined).",
    )
    volatility_floor: float = Field(
        0.01,
        gt=0.0,
        le=1.0,
        description="Annualised floor on an asset's volatility in risk parity, so none takes a leg by having no "
        "variance.",
    )

    # --- portfolio constraints and costs
    max_weight_per_asset: float | None = Field(
        None, gt=0.0, le=1.0, description="Optional cap on any asset's weight; the excess is redistributed."
    )
    transaction_cost_bps: float = Field(
        5.0, ge=0.0, le=1000.0, description="Cost in basis points of turnover (sum of absolute weight changes)."
    )

    @model_validator(mode="after")
    def _blend_sums_to_one(self) -> StrategyParams:
        total = self.momentum_weight + self.market_cap_weight + self.risk_parity_weight
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(
                "momentum_weight + market_cap_weight + risk_parity_weight must sum to 1 "
                f"(got {self.momentum_weight} + {self.market_cap_weight} + {self.risk_parity_weight} = {total:.12g})"
            )
        return self

    @model_validator(mode="after")
    def _blend_is_a_portfolio(self) -> StrategyParams:
        if self.benchmark_blend is None:
            return self
        symbols = [part.symbol for part in self.benchmark_blend]
        if len(set(symbols)) != len(symbols):
            raise ValueError("benchmark_blend names an asset twice")
        total = sum(part.weight for part in self.benchmark_blend)
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"benchmark_blend weights must sum to 1 (got {total:.12g})")
        return self

    @property
    def benchmark_name(self) -> str | None:
        """``60% SPY / 40% IEF (monthly)`` for a blend; ``None`` when the benchmark asset is the benchmark."""
        if self.benchmark_blend is None:
            return None
        parts = " / ".join(f"{part.weight * 100:g}% {part.symbol}" for part in self.benchmark_blend)
        return f"{parts} ({self.benchmark_rebalance})"

    @property
    def window_days(self) -> int:
        """The eligibility window: the longer of the momentum window (with its skip) and the volatility one."""
        return max(self.momentum_lookback_days + self.momentum_skip_days, self.volatility_lookback_days)
