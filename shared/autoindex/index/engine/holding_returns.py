"""The returns holdings earn: the assets' actual returns from the stored closes, never cleaned ones.

Cleaning (minimum price, fill limits, clip, outlier pull-back) shapes only the signals and eligibility
(``engine.cleaning``); a holder gains or loses what the asset's price did. The rule:
``docs/index-method.md`` ("Drift").
"""

from __future__ import annotations

import numpy as np

from autoindex.index.engine._arrays import FloatArray, accumulate_rows


def holding_returns(raw: FloatArray, last_close: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Actual daily returns of a block of closes, and the last valid close per asset after it.

    Parameters
    ----------
    raw
        Raw closes, dates x assets, NaN where missing.
    last_close
        The last valid (finite, positive) close of each asset before the block (NaN if none).

    Returns
    -------
    (returns, last_close)
        ``close / previous valid close - 1`` on a day with a valid close and an earlier one; 0 on a day
        without (the holding is carried at its last value), so the day trading resumes earns the whole
        move since the last close.
    """
    rows = raw.shape[0]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(raw) & (raw > 0.0)
    row_index = np.arange(rows, dtype=np.int64)[:, None]
    last_row = accumulate_rows(np.maximum, np.where(valid, row_index, -1))
    through = np.where(last_row >= 0, np.take_along_axis(raw, np.maximum(last_row, 0), axis=0), last_close[None, :])
    previous = np.vstack([last_close[None, :], through[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        returns: FloatArray = np.where(valid & np.isfinite(previous), raw / previous - 1.0, 0.0)
    after: FloatArray = through[-1].copy() if rows else last_close.copy()
    return returns, after
