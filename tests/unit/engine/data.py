"""Synthetic market data with the awkward cases: late listings, delistings, gaps, penny prices, spikes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Market:
    dates: npt.NDArray[np.datetime64]
    prices: Floats
    caps: Floats
    assets: tuple[str, ...]

    @property
    def day_list(self) -> list[dt.date]:
        return [dt.date.fromisoformat(str(d)) for d in self.dates]

    def rows(self, matrix: Floats) -> list[list[float]]:
        return [[float(x) for x in row] for row in matrix]


def business_days(start: str, count: int) -> npt.NDArray[np.datetime64]:
    days = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + count * 2)
    return days[np.is_busday(days)][:count]


def make_market(seed: int, n_dates: int = 160, n_assets: int = 6, *, awkward: bool = True) -> Market:
    """Random-walk closes; with ``awkward``, asset 1 lists late, asset 2 delists, asset 3 has gaps and a
    penny period, asset 4 has spikes, asset 0's feed freezes for ten days, and asset 5's market cap is
    unknown."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.015, (n_dates, n_assets)) + rng.normal(0, 0.004, n_assets)
    prices = rng.uniform(5, 200, n_assets) * np.cumprod(1 + returns, axis=0)
    caps = prices * rng.uniform(1e6, 1e8, n_assets)
    if awkward and n_assets >= 6:
        prices[: n_dates // 3, 1] = np.nan  # lists a third of the way in
        prices[2 * n_dates // 3 :, 2] = np.nan  # delists two thirds of the way in
        prices[40:42, 3] = np.nan  # a short gap (forward-filled)
        prices[70:78, 3] = np.nan  # a long gap (missing, then a gap return)
        prices[100:104, 3] = 0.5  # below the minimum price
        prices[90, 4] *= 1.9  # spike: clipped, then pulled back as an outlier
        prices[91:, 4] *= 1.9
        prices[120, 4] *= 0.8
        prices[130:140, 0] = prices[129, 0]  # a frozen feed: the same close for ten days (a stale feed)
        caps[:, 5] = np.nan  # no market cap for this one (an ETF, say)
        caps[rng.random(caps.shape) < 0.05] = np.nan  # sparse gaps in the others
    return Market(business_days("2021-01-04", n_dates), prices, caps, tuple(f"S{i}" for i in range(n_assets)))
