"""From a (dates x assets) matrix of raw closes to cleaned daily simple returns.

Each asset (a column) is cleaned using only the day itself and the days before it, so a cleaned value
never changes when later prices arrive: minimum price, bounded forward fill, returns, clipping, then
the trailing outlier test. The rules: ``docs/index-method.md`` ("Cleaning").

:class:`CleaningCarry` holds what the next day's cleaning needs (last usable close and its age, the
trailing clipped returns), so that cleaning new days continues exactly where a full pass stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from autoindex.index.engine._arrays import BoolArray, FloatArray, IntArray, accumulate_rows
from autoindex.index.engine.strategy import StrategyParams

#: Age of the last close of an asset never seen: far beyond any forward-fill limit.
NEVER = np.int64(1) << 40

#: Share of the trailing window that must hold returns before the outlier test applies.
OUTLIER_MIN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class CleaningCarry:
    """What cleaning the next day needs from the days already cleaned.

    Attributes
    ----------
    last_price
        Last usable close per asset (NaN if none yet).
    age
        Trading days since that close (``NEVER`` if none).
    present
        Whether each asset was present on the last day.
    clipped_tail
        The clipped returns of the last ``volatility_lookback_days`` days, oldest first, NaN-padded
        when fewer days exist.
    """

    last_price: FloatArray
    age: IntArray
    present: BoolArray
    clipped_tail: FloatArray

    @classmethod
    def empty(cls, n_assets: int, params: StrategyParams) -> CleaningCarry:
        """The carry before the first day: nothing seen yet."""
        return cls(
            last_price=np.full(n_assets, np.nan),
            age=np.full(n_assets, NEVER, dtype=np.int64),
            present=np.zeros(n_assets, dtype=np.bool_),
            clipped_tail=np.full((params.volatility_lookback_days, n_assets), np.nan),
        )


@dataclass(frozen=True, slots=True)
class CleanedPrices:
    """Cleaned data for a block of days.

    Attributes
    ----------
    filled
        Closes after the minimum-price rule and the bounded forward fill (NaN where missing).
    present
        Whether each asset has a usable close on each day.
    returns
        Cleaned daily simple returns (NaN where missing).
    carry
        The carry after the last day of the block.
    """

    filled: FloatArray
    present: BoolArray
    returns: FloatArray
    carry: CleaningCarry


def clean_prices(prices: npt.ArrayLike, params: StrategyParams, carry: CleaningCarry | None = None) -> CleanedPrices:
    """Clean a (dates x assets) matrix of closes with NaN for missing quotes.

    Parameters
    ----------
    prices
        Raw closes, one row per trading date (oldest first), one column per asset.
    params
        The strategy, for its cleaning rules.
    carry
        The carry of the days before ``prices`` (``None`` when ``prices`` starts the history).

    Returns
    -------
    CleanedPrices
        Filled closes, presence, cleaned returns, and the carry for the next block.
    """
    raw = np.asarray(prices, dtype=np.float64)
    if raw.ndim != 2:
        raise ValueError("prices must be a (dates x assets) matrix")
    before = carry if carry is not None else CleaningCarry.empty(raw.shape[1], params)
    if before.last_price.shape != (raw.shape[1],):
        raise ValueError("the carry does not match the number of assets")
    if raw.shape[0] == 0:
        empty = np.empty_like(raw)
        return CleanedPrices(empty, np.zeros(raw.shape, dtype=np.bool_), empty.copy(), before)

    last_price, age, present = _fill(raw, params, before)
    previous = np.vstack([before.last_price[None, :], last_price[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.where(present & np.isfinite(previous), last_price / previous - 1.0, np.nan)
    clipped = np.clip(returns, -params.return_clip, params.return_clip)
    history = np.vstack([before.clipped_tail, clipped])
    cleaned = _replace_outliers(history, params)

    window = params.volatility_lookback_days
    after = CleaningCarry(
        last_price=last_price[-1].copy(),
        age=age[-1].copy(),
        present=present[-1].copy(),
        clipped_tail=history[-window:].copy(),
    )
    filled = np.where(present, last_price, np.nan)
    return CleanedPrices(filled=filled, present=present, returns=cleaned, carry=after)


def _fill(raw: FloatArray, params: StrategyParams, before: CleaningCarry) -> tuple[FloatArray, IntArray, BoolArray]:
    """Last usable close, its age in trading days, and presence, for every day of the block (rules 1-2)."""
    rows = raw.shape[0]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(raw) & (raw > 0.0) & (raw >= params.min_price)
    row_index = np.arange(rows, dtype=np.int64)[:, None]
    last_row = accumulate_rows(np.maximum, np.where(usable, row_index, -1))
    seen_in_block = last_row >= 0
    from_block = np.take_along_axis(raw, np.maximum(last_row, 0), axis=0)
    last_price = np.where(seen_in_block, from_block, before.last_price[None, :])
    age = np.where(seen_in_block, row_index - last_row, np.minimum(before.age[None, :] + row_index + 1, NEVER))
    present = (age <= params.max_ffill_days) & np.isfinite(last_price)
    return last_price, age, present


def _replace_outliers(history: FloatArray, params: StrategyParams) -> FloatArray:
    """Rule 5 on the rows after the first ``window`` rows of ``history`` (those rows are the trailing carry)."""
    window = params.volatility_lookback_days
    finite = np.isfinite(history)
    values = np.where(finite, history, 0.0)
    # Rolling sums as differences of running sums: one pass however long the window.
    sums = _running_sum(values)
    squares = _running_sum(values * values)
    counts = _running_sum(finite.astype(np.float64))
    s1 = sums[window:-1] - sums[: -window - 1]
    s2 = squares[window:-1] - squares[: -window - 1]
    n = counts[window:-1] - counts[: -window - 1]

    current = history[window:]
    min_count = max(2, math.ceil(window * OUTLIER_MIN_SHARE))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        variance = (s2 - s1 * mean) / (n - 1.0)
        deviation = current - mean
        # Compare squares: no square root or absolute value over the whole matrix; NaN compares False.
        outlier = (deviation * deviation > params.outlier_sigma**2 * variance) & (variance > 0.0) & (n >= min_count)
    cleaned = current.copy()
    rows, cols = np.nonzero(outlier)
    band = params.outlier_sigma * np.sqrt(variance[rows, cols])
    cleaned[rows, cols] = mean[rows, cols] + np.sign(deviation[rows, cols]) * band
    return cleaned


def _running_sum(values: FloatArray) -> FloatArray:
    """Running sums down the rows, with a leading row of zeros (so window sums are differences)."""
    out = np.zeros((values.shape[0] + 1, values.shape[1]))
    out[1:] = accumulate_rows(np.add, values)
    return out
