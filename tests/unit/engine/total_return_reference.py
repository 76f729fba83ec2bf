"""A plain share-counting reference for the total-return index: loops and floats, no NumPy.

The engine's total-return series is checked against it, in memory (tests/unit/engine) and as stored by
the compute function (tests/integration/compute).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from autoindex.index.engine.index import IndexResult


def reference_total_return(
    dates: Sequence[dt.date],
    closes: list[list[float]],
    dividends: list[list[float]],
    index: IndexResult,
    cost_bps: float,
) -> dict[dt.date, float]:
    """Count shares: buy at the rebalance close, take each dividend in cash and buy more of the payer at the
    ex-date close (or its next close when it had none that day). Written without the engine's arrays."""
    trades = {r.date: (list(r.weights), r.initial) for r in index.rebalances}
    n = len(closes[0])
    shares = [0.0] * n
    last: list[float | None] = [None] * n
    owed = [0.0] * n  # cash per share announced on a day without a close
    formed = False
    out: dict[dt.date, float] = {}
    for day, row, paid in zip(dates, closes, dividends, strict=True):
        for i in range(n):
            owed[i] += paid[i]
            if not math.isnan(row[i]) and row[i] > 0:
                if last[i] is not None and shares[i]:
                    shares[i] += shares[i] * owed[i] / row[i]  # the cash buys more at this close
                owed[i] = 0.0
                last[i] = row[i]
        value = sum(s * p for s, p in zip(shares, last, strict=True) if p is not None)
        if day in trades:
            weights, initial = trades[day]
            if initial or not formed:
                formed, value = True, 100.0
            else:
                held = [s * p / value if p is not None else 0.0 for s, p in zip(shares, last, strict=True)]
                turnover = sum(abs(w - h) for w, h in zip(weights, held, strict=True))
                value *= 1 - cost_bps / 10_000 * turnover
            shares = [value * w / p if w > 0 and p is not None else 0.0 for w, p in zip(weights, last, strict=True)]
        if formed:
            out[day] = value
    return out
