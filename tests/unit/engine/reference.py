"""A deliberately plain reference of the documented index method: loops, floats, no NumPy.

Written from docs/index-method.md, not from the engine's code: one date at a
time, one asset at a time, every window re-read from scratch. Slow on purpose; use small inputs.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field

from autoindex.index.engine.strategy import StrategyParams

Matrix = list[list[float]]


@dataclass
class ReferenceResult:
    dates: list[dt.date] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rebalance_dates: list[dt.date] = field(default_factory=list)
    rebalance_weights: list[list[float]] = field(default_factory=list)
    cap_fallback: list[list[bool]] = field(default_factory=list)
    skipped: list[dt.date] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)


def clean(prices: Matrix, p: StrategyParams) -> tuple[list[list[bool]], Matrix]:
    """Presence and cleaned returns, date by date."""
    n_dates, n_assets = len(prices), len(prices[0])
    present = [[False] * n_assets for _ in range(n_dates)]
    clipped = [[math.nan] * n_assets for _ in range(n_dates)]
    cleaned = [[math.nan] * n_assets for _ in range(n_dates)]
    for i in range(n_assets):
        last: float | None = None
        age = math.inf
        for t in range(n_dates):
            before = last
            price = prices[t][i]
            if math.isfinite(price) and price > 0 and price >= p.min_price:
                last, age = price, 0
            else:
                age += 1
            present[t][i] = last is not None and age <= p.max_ffill_days
            if present[t][i] and before is not None:
                assert last is not None
                r = last / before - 1.0
                clipped[t][i] = min(max(r, -p.return_clip), p.return_clip)
            x = clipped[t][i]
            if not math.isnan(x):
                past = [
                    clipped[s][i]
                    for s in range(t - p.volatility_lookback_days, t)
                    if s >= 0 and not math.isnan(clipped[s][i])
                ]
                if len(past) >= max(2, math.ceil(p.volatility_lookback_days / 2)):
                    mean = sum(past) / len(past)
                    sd = statistics.stdev(past)
                    if sd > 0 and abs(x - mean) > p.outlier_sigma * sd:
                        x = mean + math.copysign(p.outlier_sigma * sd, x - mean)
            cleaned[t][i] = x
    return present, cleaned


def actual(prices: Matrix) -> Matrix:
    """What a holder earns each day: close / last valid close - 1, and 0 on a day without a close."""
    out = [[0.0] * len(prices[0]) for _ in prices]
    for i in range(len(prices[0])):
        last: float | None = None
        for t, row in enumerate(prices):
            price = row[i]
            if math.isfinite(price) and price > 0:
                if last is not None:
                    out[t][i] = price / last - 1.0
                last = price
    return out


def decide(
    t: int,
    present: list[list[bool]],
    returns: Matrix,
    caps: Matrix | None,
    p: StrategyParams,
) -> tuple[list[float], list[bool]] | None:
    """Weights at date index ``t`` from rows strictly before ``t``; None if nothing is eligible."""
    n_assets = len(returns[0])
    window = max(p.momentum_lookback_days + p.momentum_skip_days, p.volatility_lookback_days)

    def column(i: int, days: int) -> list[float]:
        return [returns[s][i] if s >= 0 else math.nan for s in range(t - days, t)]

    stale_days = min(p.stale_feed_days, window)

    def traded(i: int) -> bool:
        return any(not math.isnan(x) and x != 0.0 for x in column(i, stale_days))

    eligible, scores, vols = [], [], []
    for i in range(n_assets):
        missing = sum(1 for x in column(i, window) if math.isnan(x))
        vol_values = [x for x in column(i, p.volatility_lookback_days) if not math.isnan(x)]
        ok = present[t - 1][i] and missing / window <= p.max_missing_share and len(vol_values) >= 2
        frozen = all(x == 0.0 for x in column(i, stale_days))
        if frozen and any(traded(j) for j in range(n_assets) if j != i):
            ok = False
        eligible.append(ok)
        growth = 1.0
        momentum_days = column(i, p.momentum_lookback_days + p.momentum_skip_days)[: p.momentum_lookback_days]
        for x in momentum_days:
            if not math.isnan(x):
                growth *= 1.0 + x
        scores.append(growth - 1.0)
        vols.append(statistics.stdev(vol_values) if ok else math.nan)
    if not any(eligible):
        return None

    momentum = _momentum(scores, eligible, p.momentum_drop_threshold)
    if p.momentum_max_weight is not None:
        momentum = _cap(momentum, [m > 0 for m in momentum], p.momentum_max_weight)
    market, fallback = _market(t, caps, eligible)
    floor = p.volatility_floor / math.sqrt(252)
    if p.risk_parity_method == "erc":
        members = [i for i in range(n_assets) if eligible[i]]
        series = [[0.0 if math.isnan(x) else x for x in column(i, p.volatility_lookback_days)] for i in members]
        solved = _erc(_floored(_ledoit_wolf(series), floor * floor))
        parity = [0.0] * n_assets
        for i, w in zip(members, solved, strict=True):
            parity[i] = w
    else:
        inverse = [1.0 / max(vols[i], floor) if eligible[i] else 0.0 for i in range(n_assets)]
        parity = [x / sum(inverse) for x in inverse]
    blend = [
        p.momentum_weight * momentum[i] + p.market_cap_weight * market[i] + p.risk_parity_weight * parity[i]
        for i in range(n_assets)
    ]
    blend = [x / sum(blend) for x in blend]
    if p.max_weight_per_asset is not None:
        blend = _cap(blend, eligible, p.max_weight_per_asset)
    if p.market_cap_weight == 0:
        fallback = [False] * n_assets
    return blend, fallback


def _ledoit_wolf(series: list[list[float]]) -> list[list[float]]:
    """Ledoit-Wolf (2004) toward mu*I, written out: sample covariance / T, shrinkage min(b2, d2) / d2."""
    n, t = len(series), len(series[0])
    x = [[v - sum(col) / t for v in col] for col in series]
    sample = [[sum(x[i][k] * x[j][k] for k in range(t)) / t for j in range(n)] for i in range(n)]
    mu = sum(sample[i][i] for i in range(n)) / n
    d2 = sum((sample[i][j] - (mu if i == j else 0.0)) ** 2 for i in range(n) for j in range(n)) / n
    b2 = 0.0
    for k in range(t):
        b2 += sum((x[i][k] * x[j][k] - sample[i][j]) ** 2 for i in range(n) for j in range(n))
    b2 = b2 / (t * t) / n
    shrink = 0.0 if d2 == 0 else min(b2, d2) / d2
    return [[shrink * (mu if i == j else 0.0) + (1 - shrink) * sample[i][j] for j in range(n)] for i in range(n)]


def _floored(cov: list[list[float]], floor: float) -> list[list[float]]:
    return [[cov[i][j] + floor if i == j else cov[i][j] for j in range(len(cov))] for i in range(len(cov))]


def _erc(cov: list[list[float]]) -> list[float]:
    """Equal risk contributions by cyclical coordinate descent, to risk shares within 1e-12 of 1/n."""
    n = len(cov)
    y = [1.0 / math.sqrt(cov[i][i]) for i in range(n)]
    for _ in range(100_000):
        for i in range(n):
            b = sum(cov[i][j] * y[j] for j in range(n) if j != i)
            y[i] = (-b + math.sqrt(b * b + 4 * cov[i][i] / n)) / (2 * cov[i][i])
        w = [v / sum(y) for v in y]
        marginal = [sum(cov[i][j] * w[j] for j in range(n)) for i in range(n)]
        total = sum(w[i] * marginal[i] for i in range(n))
        if max(abs(w[i] * marginal[i] / total - 1 / n) for i in range(n)) < 1e-12:
            return w
    raise AssertionError("reference ERC did not converge")


def _equal(eligible: list[bool]) -> list[float]:
    return [1.0 / sum(eligible) if e else 0.0 for e in eligible]


def _momentum(scores: list[float], eligible: list[bool], threshold: float) -> list[float]:
    kept = [e and score > threshold for e, score in zip(eligible, scores, strict=True)]
    if not any(kept):
        return _equal(eligible)
    raw = [score - threshold if k else 0.0 for k, score in zip(kept, scores, strict=True)]
    return [x / sum(raw) for x in raw]


def _market(t: int, caps: Matrix | None, eligible: list[bool]) -> tuple[list[float], list[bool]]:
    """Market-cap scheme from the last positive cap before ``t``, and the equal-share stand-ins."""
    known: list[float] = []
    for i, ok in enumerate(eligible):
        found = math.nan
        if caps is not None and ok:
            for s in range(t - 1, -1, -1):
                if not math.isnan(caps[s][i]) and caps[s][i] > 0:
                    found = caps[s][i]
                    break
        known.append(found)
    count = sum(eligible)
    fallback = [ok and math.isnan(c) for ok, c in zip(eligible, known, strict=True)]
    with_cap = [c for c in known if not math.isnan(c)]
    market = []
    for ok, c, stand_in in zip(eligible, known, fallback, strict=True):
        if stand_in:
            market.append(1.0 / count)
        elif ok:
            market.append(len(with_cap) / count * c / sum(with_cap))
        else:
            market.append(0.0)
    return market, fallback


def _cap(weights: list[float], eligible: list[bool], cap: float) -> list[float]:
    count = sum(eligible)
    if cap * count < 1 - 1e-12:
        return [1.0 / count if e else 0.0 for e in eligible]
    w = list(weights)
    while True:
        over = [x > cap * (1 + 1e-12) for x in w]
        if not any(over):
            return w
        excess = sum(w[i] - cap for i in range(len(w)) if over[i])
        w = [cap if over[i] else w[i] for i in range(len(w))]
        takers = [i for i in range(len(w)) if eligible[i] and w[i] < cap]
        base = sum(w[i] for i in takers)
        for i in takers:
            w[i] += excess * w[i] / base if base > 0 else excess / len(takers)


def _new_period(a: dt.date, b: dt.date, frequency: str) -> bool:
    if frequency == "daily":
        return True
    if frequency == "weekly":
        return a.isocalendar()[:2] != b.isocalendar()[:2]
    return (a.year, a.month) != (b.year, b.month)


def _outside_band(weights: list[float], target: list[float], p: StrategyParams) -> bool:
    assert p.drift_band is not None
    for w, goal in zip(weights, target, strict=True):
        if p.drift_band_type == "absolute" and abs(w - goal) > p.drift_band:
            return True
        if p.drift_band_type == "relative" and goal > 0 and abs(w - goal) > p.drift_band * goal:
            return True
    return False


def reference_index(
    dates: list[dt.date],
    prices: Matrix,
    p: StrategyParams,
    caps: Matrix | None = None,
    requested: list[dt.date] | None = None,
) -> ReferenceResult:
    present, returns = clean(prices, p)
    earned = actual(prices)
    out = ReferenceResult()
    holdings: list[float] = []
    target: list[float] = []
    formed = False
    since = 0  # trading days since the last rebalance
    for t, day in enumerate(dates):
        if not formed:
            decision = decide(t, present, returns, caps, p) if t > 0 else None
            if decision is None:
                continue
            formed = True
            holdings = [100.0 * w for w in decision[0]]
            target, since = decision[0], 0
            out.rebalance_dates.append(day)
            out.rebalance_weights.append(decision[0])
            out.cap_fallback.append(decision[1])
            out.triggers.append("schedule")
            out.dates.append(day)
            out.values.append(100.0)
            continue
        before = sum(holdings)
        weights_before = [h / before for h in holdings]  # at the previous close
        holdings = [h * (1 + r) for h, r in zip(holdings, earned[t], strict=True)]
        value = sum(holdings)
        since += 1
        trigger = None
        if _new_period(dates[t - 1], day, p.rebalance_frequency):
            trigger = "schedule"
        elif any(dates[t - 1] < asked <= day for asked in requested or []):
            trigger = "request"
        elif p.drift_band is not None and since >= p.drift_cooldown_days and _outside_band(weights_before, target, p):
            trigger = "drift"
        if trigger is not None:
            decision = decide(t, present, returns, caps, p)
            if decision is None:
                out.skipped.append(day)
            else:
                target = decision[0]
                turnover = sum(abs(target[i] - holdings[i] / value) for i in range(len(target)))
                value *= 1 - p.transaction_cost_bps / 10_000 * turnover
                holdings = [value * w for w in target]
                since = 0
                out.rebalance_dates.append(day)
                out.rebalance_weights.append(target)
                out.cap_fallback.append(decision[1])
                out.triggers.append(trigger)
        out.dates.append(day)
        out.values.append(value)
    return out
