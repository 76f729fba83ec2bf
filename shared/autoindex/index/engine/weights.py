"""The weight decision at one rebalance date, from cleaned returns strictly before that date.

Every function here receives only the window of rows *before* the rebalance date (the caller slices
it), so no look-ahead is possible by construction. Weights of ineligible assets are 0. The method
(eligibility, momentum, market cap, risk parity, blend, cap): ``docs/index-method.md`` ("Weights at a
rebalance date").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autoindex.index.engine._arrays import BoolArray, FloatArray
from autoindex.index.engine.erc import erc_weights, ledoit_wolf
from autoindex.index.engine.strategy import StrategyParams

#: Trading days a year, to turn the annualised volatility floor into a daily one.
PERIODS_PER_YEAR = 252

#: Relative slack before a weight counts as above the cap (floating-point noise of redistribution).
_CAP_SLACK = 1e-12


@dataclass(frozen=True, slots=True)
class WeightDecision:
    """The outcome of one rebalance decision; arrays have one entry per asset.

    Attributes
    ----------
    eligible
        Assets that could be held.
    stale
        Assets excluded as stale feeds (close unchanged for ``stale_feed_days`` while others traded).
    momentum_scores, volatilities
        The signals (NaN for ineligible assets); volatilities are daily, before the floor.
    momentum, market_cap, risk_parity
        The three schemes' weights, each summing to 1 over the eligible assets.
    weights
        The final blended (and capped) weights, summing to 1.
    market_cap_fallback
        Eligible assets for which an equal share stood in for a missing market capitalisation (all False
        when the blend gives the market-cap scheme no weight).
    momentum_fallback
        No asset passed the momentum threshold, so equal weights stood in for the momentum scheme.
    cap_relaxed
        The per-asset cap could not be met with so few eligible assets, so weights are equal.
    """

    eligible: BoolArray
    stale: BoolArray
    momentum_scores: FloatArray
    volatilities: FloatArray
    momentum: FloatArray
    market_cap: FloatArray
    risk_parity: FloatArray
    weights: FloatArray
    market_cap_fallback: BoolArray
    momentum_fallback: bool
    cap_relaxed: bool


def eligibility(window: FloatArray, present_before: BoolArray, params: StrategyParams) -> BoolArray:
    """Assets that may be held, from the ``window_days`` cleaned returns before the date and the last presence."""
    missing_share = np.count_nonzero(np.isnan(window), axis=0) / window.shape[0]
    volatility_window = window[-params.volatility_lookback_days :]
    enough_for_volatility = np.count_nonzero(np.isfinite(volatility_window), axis=0) >= 2
    eligible: BoolArray = present_before & (missing_share <= params.max_missing_share) & enough_for_volatility
    return eligible


def stale_feeds(window: FloatArray, params: StrategyParams) -> BoolArray:
    """Assets whose last ``stale_feed_days`` returns are all exactly 0 while another asset's moved."""
    recent = window[-min(params.stale_feed_days, window.shape[0]) :]
    flat = np.all(recent == 0.0, axis=0)  # NaN (a missing day) is not a frozen close
    moved = np.isfinite(recent) & (recent != 0.0)
    others_traded = moved.any(axis=0)
    stale: BoolArray = flat & (np.count_nonzero(others_traded) > 0)
    return stale


def momentum_scores(window: FloatArray, eligible: BoolArray, params: StrategyParams) -> FloatArray:
    """Compounded return over the momentum window for eligible assets (NaN elsewhere)."""
    end = window.shape[0] - params.momentum_skip_days
    recent = window[end - params.momentum_lookback_days : end]
    growth = np.prod(np.where(np.isnan(recent), 1.0, 1.0 + recent), axis=0)
    scores: FloatArray = np.where(eligible, growth - 1.0, np.nan)
    return scores


def volatilities(window: FloatArray, eligible: BoolArray, params: StrategyParams) -> FloatArray:
    """Sample standard deviation (ddof=1) of daily returns over the volatility window (NaN if ineligible)."""
    recent = window[-params.volatility_lookback_days :]
    finite = np.isfinite(recent)
    count = np.count_nonzero(finite, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, recent, 0.0).sum(axis=0) / count
        deviations = np.where(finite, recent - mean, 0.0)
        variance = (deviations * deviations).sum(axis=0) / (count - 1)
    out: FloatArray = np.where(eligible, np.sqrt(variance), np.nan)
    return out


def momentum_weights(scores: FloatArray, eligible: BoolArray, threshold: float) -> tuple[FloatArray, bool]:
    """Momentum scheme: excess score over the threshold; equal weights (and ``True``) when none passes."""
    with np.errstate(invalid="ignore"):
        kept = eligible & (scores > threshold)
    if not kept.any():
        return _equal(eligible), True
    raw = np.where(kept, scores - threshold, 0.0)
    return raw / raw.sum(), False


def market_cap_weights(caps: FloatArray | None, eligible: BoolArray) -> tuple[FloatArray, BoolArray]:
    """Market-cap scheme and the mask of eligible assets for which an equal share stood in.

    A cap of exactly 0 means "excluded by rule" (a fund: ``docs/index-method.md``, market capitalisation):
    no weight in this scheme, its share going to the others. NaN means unknown: an equal share stands in.
    When every eligible asset is excluded, equal weights stand in for all of them.
    """
    if caps is None:
        return _equal(eligible), eligible.copy()
    with np.errstate(invalid="ignore"):
        known = eligible & np.isfinite(caps) & (caps > 0.0)
        excluded = eligible & (caps == 0.0)
    if not (eligible & ~excluded).any():
        return _equal(eligible), eligible.copy()
    fallback = eligible & ~known & ~excluded
    count = np.count_nonzero(eligible & ~excluded)
    weights = np.where(fallback, 1.0 / count, 0.0)
    if known.any():
        known_caps = np.where(known, caps, 0.0)
        weights += (np.count_nonzero(known) / count) * known_caps / known_caps.sum()
    return weights, fallback


def daily_volatility_floor(params: StrategyParams) -> float:
    """The strategy's annualised volatility floor as a daily standard deviation."""
    return params.volatility_floor / float(np.sqrt(PERIODS_PER_YEAR))


def risk_parity_weights(vols: FloatArray, eligible: BoolArray, floor: float) -> FloatArray:
    """Inverse-volatility scheme, daily volatilities floored at ``floor``."""
    with np.errstate(invalid="ignore"):
        inverse = np.where(eligible, 1.0 / np.maximum(vols, floor), 0.0)
    weights: FloatArray = inverse / inverse.sum()
    return weights


def erc_leg(window: FloatArray, eligible: BoolArray, params: StrategyParams) -> FloatArray:
    """Equal-risk-contribution scheme over the volatility window (missing returns count as 0).

    The covariance is Ledoit-Wolf shrunk, plus the floor's variance on the diagonal: a ridge that keeps
    it positive definite (a short window of perfectly anticorrelated assets has no ERC portfolio) and
    gives every asset at least the floor's volatility.
    """
    recent = window[-params.volatility_lookback_days :, eligible]
    covariance = ledoit_wolf(np.where(np.isnan(recent), 0.0, recent))
    covariance += daily_volatility_floor(params) ** 2 * np.eye(covariance.shape[0])
    weights = np.zeros(eligible.size)
    weights[eligible] = erc_weights(covariance)
    return weights


def apply_weight_cap(weights: FloatArray, eligible: BoolArray, max_weight: float | None) -> tuple[FloatArray, bool]:
    """Cap each weight at ``max_weight`` and redistribute the excess; ``True`` when the cap had to be relaxed."""
    if max_weight is None:
        return weights, False
    count = np.count_nonzero(eligible)
    if max_weight * count < 1.0 - _CAP_SLACK:
        return _equal(eligible), True
    capped = weights.copy()
    for _ in range(count):
        over = capped > max_weight * (1.0 + _CAP_SLACK)
        if not over.any():
            break
        excess = float(np.sum(capped[over] - max_weight))
        capped[over] = max_weight
        below = eligible & (capped < max_weight)
        base = float(capped[below].sum())
        if base > 0.0:
            capped[below] += excess * capped[below] / base
        else:
            capped[below] += excess / np.count_nonzero(below)
    return capped, False


def decide_weights(
    window: FloatArray,
    present_before: BoolArray,
    caps_before: FloatArray | None,
    params: StrategyParams,
) -> WeightDecision | None:
    """Decide the weights at one rebalance date.

    Parameters
    ----------
    window
        Cleaned daily returns of the ``params.window_days`` trading days strictly before the rebalance
        date (oldest first; rows before the start of the data are NaN).
    present_before
        Whether each asset had a usable close on the trading day before the rebalance date.
    caps_before
        Last known market capitalisation of each asset before the date (NaN where unknown), or ``None``
        when no capitalisation data exist at all.
    params
        The strategy.

    Returns
    -------
    WeightDecision or None
        ``None`` when no asset is eligible (the caller keeps its holdings).
    """
    usable = eligibility(window, present_before, params)
    stale = usable & stale_feeds(window, params)
    eligible = usable & ~stale
    if not eligible.any():
        return None
    scores = momentum_scores(window, eligible, params)
    vols = volatilities(window, eligible, params)
    momentum, momentum_fallback = momentum_weights(scores, eligible, params.momentum_drop_threshold)
    momentum, _ = apply_weight_cap(momentum, momentum > 0.0, params.momentum_max_weight)
    market_cap, cap_fallback = market_cap_weights(caps_before, eligible)
    if params.risk_parity_method == "erc":
        risk_parity = erc_leg(window, eligible, params)
    else:
        risk_parity = risk_parity_weights(vols, eligible, daily_volatility_floor(params))
    blended = (
        params.momentum_weight * momentum
        + params.market_cap_weight * market_cap
        + params.risk_parity_weight * risk_parity
    )
    blended /= blended.sum()
    final, relaxed = apply_weight_cap(blended, eligible, params.max_weight_per_asset)
    return WeightDecision(
        eligible=eligible,
        stale=stale,
        momentum_scores=scores,
        volatilities=vols,
        momentum=momentum,
        market_cap=market_cap,
        risk_parity=risk_parity,
        weights=final,
        market_cap_fallback=cap_fallback if params.market_cap_weight > 0.0 else np.zeros_like(cap_fallback),
        momentum_fallback=momentum_fallback and params.momentum_weight > 0.0,
        cap_relaxed=relaxed,
    )


def _equal(eligible: BoolArray) -> FloatArray:
    weights: FloatArray = eligible / np.count_nonzero(eligible)
    return weights
