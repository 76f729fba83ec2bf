"""Credits of a daily refresh of the default universe: with the overlap against without it, with dividends
derived against price bars alone, and what a split's re-fetch adds, from the planner and the client's cost
model (the same numbers the ingest job puts on a run: tests/integration/pipeline/test_splits.py checks a live
run equals ``cost(planned) + cost(1) + split_cost(1)`` against the fake's own request log).

Run: ``.venv/bin/python -m bench.refresh_credits``. Prints ratios against today's incremental refresh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from autoindex.market.planning import SymbolProgress, plan_refresh
from autoindex.market.providers.twelvedata.client import _DIVIDEND_CREDITS, CAPABILITIES

# The seeded default universe: 13 constituents, the benchmark and the 21 USD/XXX pairs.
UNIVERSE = 13 + 1 + 21
SPLITTING = 13  # the stocks and ETFs: their whole histories come with the unadjusted closes splits are read from
NOW = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # a Wednesday evening, after the close has settled


def _credits(overlap: int, dividends: str, refetched: int = 0, backfill: bool = False) -> int:
    yesterday = date(2026, 12, 1)
    known = None if backfill else yesterday
    progress = [SymbolProgress(f"S{i}", known, known) for i in range(UNIVERSE)]
    plan = plan_refresh(
        progress,
        now=NOW,
        exchange_timezone="America/New_York",
        settle=timedelta(minutes=30),
        history_start=date(2018, 1, 1),
        batch_symbols=8,
        max_bars=5000,
        overlap=overlap,
    )
    per_symbol = 1 + _DIVIDEND_CREDITS[dividends]
    symbols = sum(len(b.symbols) for b in plan.batches)
    splits = CAPABILITIES.split_cost(refetched + (SPLITTING if backfill else 0))  # a re-fetched symbol is a stock
    return per_symbol * (symbols + refetched) + splits


def main() -> int:
    base = _credits(0, "off")
    rows = [
        ("incremental, no overlap, price bars only (today)", _credits(0, "off")),
        ("with the 5-bar overlap", _credits(5, "off")),
        ("with the overlap and derived dividends (default)", _credits(5, "derived")),
        ("the default, on the day a split re-fetches one symbol", _credits(5, "derived", refetched=1)),
        ("the default, backfilling the universe from HISTORY_START", _credits(5, "derived", backfill=True)),
        ("with the overlap and /dividends (endpoint mode)", _credits(5, "endpoint")),
    ]
    for name, credits in rows:
        print(f"{name}: {credits} credits -> {credits / base:.2f}x today's refresh")
    overlap_ok = _credits(5, "off") <= 1.3 * base
    print(f"overlap alone within 1.3x of today's refresh: {'OK' if overlap_ok else 'OVER GOAL'}")
    return 0 if overlap_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
