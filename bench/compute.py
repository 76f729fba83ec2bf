"""Index compute: the engine against a plain vectorised NumPy reference, and incremental against full.

Data: 500 assets x 2,520 trading days (ten years) of synthetic closes with gaps, late listings and
market caps, default strategy (weekly rebalancing over 60 days, 5 bps costs).

1. Full compute through ``autoindex.index.engine.index.compute_index`` against ``plain_reference`` below, a
   straightforward vectorised implementation of the same method (rolling sums for every window, one
   loop over rebalance dates for the drift), in the same run, samples alternating. Goal: <= 2x. The
   two must agree to 1e-9, or the benchmark fails: a fast wrong reference proves nothing.
2. Incremental: extending the state of the first 2,519 days by the last day (a Monday, so a
   rebalance is decided) against the full compute. Goal: <= 1/50.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from autoindex.index.engine.index import compute_index, extend_index
from autoindex.index.engine.strategy import StrategyParams

from bench._common import report

N_DATES, N_ASSETS = 2_520, 500
Floats = np.ndarray


def make_data(seed: int = 0) -> tuple[np.ndarray, Floats, Floats]:
    rng = np.random.default_rng(seed)
    # 2,520 business days from a Tuesday end on a Monday: the extended day is a rebalance date.
    days = np.arange(np.datetime64("2015-01-06"), np.datetime64("2015-01-06") + 4_000)
    dates = days[np.is_busday(days)][:N_DATES]
    returns = rng.normal(0.0003, 0.015, (N_DATES, N_ASSETS)) + rng.normal(0, 0.0005, N_ASSETS)
    prices = rng.uniform(5, 500, N_ASSETS) * np.cumprod(1 + returns, axis=0)
    prices[rng.random(prices.shape) < 0.005] = np.nan
    prices[: rng.integers(0, 800), :25] = np.nan  # late listings
    caps = prices * rng.uniform(1e7, 1e9, N_ASSETS)
    return dates, prices, caps


def _window_sums(values: Floats, window: int) -> Floats:
    """Sum of the ``window`` rows strictly before each row (fewer at the start)."""
    running = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    start = np.maximum(np.arange(values.shape[0]) - window, 0)
    out: Floats = running[:-1] - running[start]
    return out


def plain_reference(dates: np.ndarray, prices: Floats, caps: Floats, p: StrategyParams) -> Floats:
    """The documented method, vectorised the obvious way; returns the index values from the base date."""
    n_dates, n_assets = prices.shape
    rows = np.arange(n_dates)[:, None]
    # cleaning: minimum price, bounded forward fill, returns, clip, outliers against the days before
    usable = np.isfinite(prices) & (prices > 0) & (prices >= p.min_price)
    last = np.maximum.accumulate(np.where(usable, rows, -1), axis=0)
    last_price = np.where(last >= 0, prices[np.maximum(last, 0), np.arange(n_assets)], np.nan)
    present = (last >= 0) & (rows - last <= p.max_ffill_days)
    previous = np.vstack([np.full((1, n_assets), np.nan), last_price[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(
            np.where(present & np.isfinite(previous), last_price / previous - 1, np.nan), -p.return_clip, p.return_clip
        )
        finite = np.isfinite(r)
        z = np.where(finite, r, 0.0)
        w = p.volatility_lookback_days
        n, s1, s2 = _window_sums(finite.astype(float), w), _window_sums(z, w), _window_sums(z * z, w)
        mean = s1 / n
        var = (s2 - s1 * mean) / (n - 1)
        outlier = (n >= max(2, math.ceil(w / 2))) & (var > 0) & ((r - mean) ** 2 > p.outlier_sigma**2 * var)
        r = np.where(outlier, mean + np.sign(r - mean) * p.outlier_sigma * np.sqrt(var), r)
        # signals for every date from the windows before it
        finite = np.isfinite(r)
        z = np.where(finite, r, 0.0)
        count_all = _window_sums(finite.astype(float), p.window_days)
        lv = p.volatility_lookback_days
        count_v, sum_v, sq_v = _window_sums(finite.astype(float), lv), _window_sums(z, lv), _window_sums(z * z, lv)
        vol = np.sqrt((sq_v - sum_v * sum_v / count_v) / (count_v - 1))
        momentum = np.expm1(_window_sums(np.log1p(z), p.momentum_lookback_days))
        # stale feeds: the last stale_feed_days returns all exactly 0 while some asset's moved
        flat = _window_sums((finite & (r == 0)).astype(float), p.stale_feed_days) == p.stale_feed_days
        moved = _window_sums((finite & (r != 0)).astype(float), p.stale_feed_days).sum(axis=1, keepdims=True) > 0
    present_before = np.vstack([np.zeros((1, n_assets), bool), present[:-1]])
    eligible = present_before & ((p.window_days - count_all) / p.window_days <= p.max_missing_share) & (count_v >= 2)
    eligible &= ~(flat & moved)
    known = np.isfinite(caps) & (caps > 0)
    cap_row = np.maximum.accumulate(np.where(known, rows, -1), axis=0)
    caps_asof = np.where(cap_row >= 0, caps[np.maximum(cap_row, 0), np.arange(n_assets)], np.nan)
    caps_before = np.vstack([np.full((1, n_assets), np.nan), caps_asof[:-1]])
    week = (dates.astype("datetime64[D]").astype(np.int64) + 3) // 7
    scheduled = np.concatenate([[False], week[1:] != week[:-1]])
    # holdings earn the actual returns: close / last valid close - 1, 0 on a day without a close
    valid = np.isfinite(prices) & (prices > 0)
    last_valid = np.maximum.accumulate(np.where(valid, rows, -1), axis=0)
    through = np.where(last_valid >= 0, prices[np.maximum(last_valid, 0), np.arange(n_assets)], np.nan)
    before = np.vstack([np.full((1, n_assets), np.nan), through[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = np.where(valid & np.isfinite(before), prices / before, 1.0)

    def weights(t: int) -> Floats:
        e = eligible[t]
        count = e.sum()
        kept = e & (momentum[t] > p.momentum_drop_threshold)
        mom = np.where(kept, momentum[t] - p.momentum_drop_threshold, 0.0)
        mom = mom / mom.sum() if kept.any() else e / count
        has_cap = e & np.isfinite(caps_before[t])
        cap = np.where(e & ~has_cap, 1 / count, 0.0)
        if has_cap.any():
            c = np.where(has_cap, caps_before[t], 0.0)
            cap = cap + has_cap.sum() / count * c / c.sum()
        inv = np.where(e, 1 / np.maximum(np.where(e, vol[t], 1.0), p.volatility_floor / math.sqrt(252)), 0.0)
        blend = p.momentum_weight * mom + p.market_cap_weight * cap + p.risk_parity_weight * inv / inv.sum()
        out: Floats = blend / blend.sum()
        return out

    base = next(t for t in range(1, n_dates) if eligible[t].any())
    values = np.empty(n_dates - base)
    values[0] = 100.0
    holdings = 100.0 * weights(base)
    stops = [int(t) for t in np.flatnonzero(scheduled) if t > base and eligible[t].any()]
    if not stops or stops[-1] != n_dates - 1:
        stops.append(n_dates - 1)
    start = base + 1
    for stop in stops:
        path = holdings * np.cumprod(growth[start : stop + 1], axis=0)
        values[start - base : stop + 1 - base] = path.sum(axis=1)
        holdings = path[-1]
        if scheduled[stop] and eligible[stop].any():
            value = holdings.sum()
            target = weights(stop)
            value *= 1 - p.transaction_cost_bps / 10_000 * np.abs(target - holdings / value).sum()
            holdings = value * target
            values[stop - base] = value
        start = stop + 1
    return values


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main(samples: int = 7, incremental_samples: int = 40) -> int:
    dates, prices, caps = make_data()
    params = StrategyParams()
    assets = tuple(f"A{i:03d}" for i in range(N_ASSETS))

    full = compute_index(dates, prices, params, assets=assets, market_caps=caps)
    reference = plain_reference(dates, prices, caps, params)
    if reference.shape != full.values.shape or not np.allclose(reference, full.values, rtol=1e-9, atol=0):
        print("the plain reference and the engine disagree: fix that before timing anything", file=sys.stderr)
        return 1

    engine_times, reference_times = [], []
    for _ in range(samples):
        engine_times.append(_timed(lambda: compute_index(dates, prices, params, assets=assets, market_caps=caps)))
        reference_times.append(_timed(lambda: plain_reference(dates, prices, caps, params)))
    ok = report("full compute 500 x 2520 vs plain NumPy reference", engine_times, reference_times, goal=2.0)

    head = compute_index(dates[:-1], prices[:-1], params, assets=assets, market_caps=caps[:-1])
    one_day = extend_index(head.state, dates[-1:], prices[-1:], params, assets=assets, market_caps=caps[-1:])
    assert one_day.rebalances and abs(one_day.values[-1] / full.values[-1] - 1) < 1e-12
    incremental = [
        _timed(lambda: extend_index(head.state, dates[-1:], prices[-1:], params, assets=assets, market_caps=caps[-1:]))
        for _ in range(incremental_samples)
    ]
    ok &= report("incremental one-day compute (a rebalance day) vs full compute", incremental, engine_times, goal=0.02)
    ratio = statistics.median(incremental) / statistics.median(engine_times)
    print(f"  = 1/{1 / ratio:.0f} of a full compute (goal <= 1/50)")
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
