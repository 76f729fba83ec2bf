"""The effect of the method changes on the demo data: the earlier method against the new default.

Data: the demo provider's deterministic closes (``autoindex.market.providers.synthetic``) of the seeded
universe (13 stocks and ETFs), 2018-01-02 to 2026-11-27, weekly rebalancing over 60 days, 5 bps.

- *earlier*: the weights the engine decides with the earlier rules (volatility floor 1e-6 a day, the
  stale-feed test switched off for this run), and holdings that drift on **cleaned** returns,
  replayed here.
- *new default*: ``StrategyParams()``: holdings earn actual returns, stale feeds are excluded, the
  volatility floor is 1 % a year.
- *new, ERC + caps + band*: risk parity by equal risk contributions, momentum skipping 5 days and
  capped at 30 % of its leg, a 5 % absolute drift band with a 5-day cooldown.

Each runs on the data as it is and with one frozen feed (TLT repeating its close for the last 80
trading days). Prints CAGR, volatility, Sharpe (risk-free 0), maximum drawdown, annual turnover
and total costs. ``python -m bench.method_effect``; the figures are in docs/index-method.md.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
from autoindex.index.engine import weights
from autoindex.index.engine.cleaning import clean_prices
from autoindex.index.engine.index import IndexResult, compute_index
from autoindex.index.engine.metrics import risk_metrics
from autoindex.index.engine.strategy import StrategyParams
from autoindex.market.providers.synthetic import daily_series

SYMBOLS = ("AAPL", "AMZN", "GLD", "GOOGL", "IEF", "META", "MSFT", "NVDA", "SLV", "SPY", "TLT", "TSLA", "USO")
START, END = date(2018, 1, 2), date(2026, 11, 27)
EARLIER = StrategyParams(volatility_floor=1e-6 * math.sqrt(252))
VARIANT = StrategyParams(
    risk_parity_method="erc",
    momentum_skip_days=5,
    momentum_max_weight=0.3,
    drift_band=0.05,
    drift_cooldown_days=5,
)


def demo_closes() -> tuple[np.ndarray, np.ndarray]:
    series = {s: daily_series(s, START, END) for s in SYMBOLS}
    days = sorted({d for one in series.values() for d in one.dates})
    row = {d: i for i, d in enumerate(days)}
    closes = np.full((len(days), len(SYMBOLS)), np.nan)
    for j, symbol in enumerate(SYMBOLS):
        for day, close in zip(series[symbol].dates, series[symbol].close.tolist(), strict=True):
            closes[row[day], j] = close
    return np.array([np.datetime64(d, "D") for d in days]), closes


def earlier_decisions(dates: np.ndarray, closes: np.ndarray) -> IndexResult:
    """The engine's decisions under the earlier rules: no stale-feed test, the 1e-6 floor."""
    real = weights.stale_feeds
    weights.stale_feeds = lambda window, params: np.zeros(window.shape[1], dtype=np.bool_)
    try:
        return compute_index(dates, closes, EARLIER, assets=SYMBOLS)
    finally:
        weights.stale_feeds = real


def replay_on_cleaned(
    result: IndexResult, dates: np.ndarray, closes: np.ndarray, p: StrategyParams
) -> tuple[np.ndarray, list[float]]:
    """The earlier drift rule: the engine's targets, holdings growing with cleaned returns; values, turnovers."""
    cleaned = np.nan_to_num(clean_prices(closes, p).returns, nan=0.0)
    targets = {np.datetime64(r.date, "D"): r.weights for r in result.rebalances}
    start = int(np.searchsorted(dates, result.dates[0]))
    holdings = 100.0 * targets[dates[start]]
    values, turnovers = [100.0], []
    for t in range(start + 1, dates.size):
        holdings = holdings * (1.0 + cleaned[t])
        value = float(holdings.sum())
        if dates[t] in targets:
            turnovers.append(float(np.abs(targets[dates[t]] - holdings / value).sum()))
            value *= 1 - p.transaction_cost_bps / 10_000 * turnovers[-1]
            holdings = value * targets[dates[t]]
        values.append(value)
    return np.array(values), turnovers


def row(name: str, dates: np.ndarray, values: np.ndarray, result: IndexResult, turnovers: list[float]) -> str:
    m = risk_metrics(dates, values)
    years = (dates[-1] - dates[0]).astype(int) / 365.25
    turnover = sum(turnovers) / years
    costs = 1.0 - math.prod(1.0 - 5.0 / 10_000 * t for t in turnovers)
    largest = max(float(r.weights.max()) for r in result.rebalances)
    return (
        f"{name:<28} {m.annualized_return or math.nan:8.2%} {m.annualized_volatility or math.nan:8.2%} "
        f"{m.sharpe_ratio or math.nan:7.2f} {m.max_drawdown or math.nan:8.2%} {turnover:9.2f} {costs:7.2%} "
        f"{largest:8.1%}"
    )


def main() -> int:
    dates, closes = demo_closes()
    frozen = closes.copy()
    tlt = SYMBOLS.index("TLT")
    frozen[-80:, tlt] = frozen[-81, tlt]
    print(f"{'method':<28} {'CAGR':>8} {'vol':>8} {'Sharpe':>7} {'max DD':>8} {'turn/yr':>9} {'costs':>7} {'max w':>8}")
    for label, data in (("demo data", closes), ("demo, TLT frozen 80 days", frozen)):
        print(f"-- {label}")
        earlier = earlier_decisions(dates, data)
        old_values, old_turnovers = replay_on_cleaned(earlier, dates, data, EARLIER)
        print(row("earlier method", earlier.dates, old_values, earlier, old_turnovers))
        new = compute_index(dates, data, StrategyParams(), assets=SYMBOLS)
        for name, result in (
            ("new default", new),
            ("new, ERC + caps + band", compute_index(dates, data, VARIANT, assets=SYMBOLS)),
        ):
            print(row(name, result.dates, result.values, result, [r.turnover for r in result.rebalances[1:]]))
        before, after = earlier.rebalances[-1].weights[tlt], new.rebalances[-1].weights[tlt]
        print(f"   TLT weight at the last rebalance: earlier {before:.1%}, new default {after:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
