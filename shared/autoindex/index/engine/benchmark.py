"""A benchmark that fits the universe: a fixed-weight blend of assets, rebalanced on a schedule.

The blend is 100 on the first date; between its rebalance dates each holding grows with its asset's
actual return (a day without a close carries it flat), and on each scheduled date it is brought back
to the blend's weights, without costs. The rules: ``docs/index-method.md`` ("The benchmark").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from autoindex.index.engine._arrays import DateArray, FloatArray, check_dates
from autoindex.index.engine.holding_returns import holding_returns
from autoindex.index.engine.schedule import scheduled
from autoindex.index.engine.strategy import RebalanceFrequency


def blend_values(
    dates: DateArray, closes: npt.ArrayLike, weights: npt.ArrayLike, frequency: RebalanceFrequency
) -> FloatArray:
    """The blend's value on each date (100 on the first), from closes (dates x parts) carried on the dates."""
    days = check_dates(np.asarray(dates))
    prices = np.asarray(closes, dtype=np.float64)
    target = np.asarray(weights, dtype=np.float64)
    if prices.shape != (days.size, target.size):
        raise ValueError("closes must be dates x blend parts")
    returns, _ = holding_returns(prices, np.full(target.size, np.nan))
    rebalance = scheduled(days, None, frequency)
    values = np.empty(days.size)
    holdings = 100.0 * target
    values[0] = 100.0
    for t in range(1, days.size):
        holdings = holdings * (1.0 + returns[t])
        values[t] = float(holdings.sum())
        if rebalance[t]:
            holdings = values[t] * target
    return values
