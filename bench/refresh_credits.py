"""Credits of a daily refresh of the default universe: with the overlap against without it, with dividends
derived against price bars alone, and what a split's re-fetch adds, from the planner and the client's cost
model (the same numbers the ingest job puts on a run: tests/integration/pipeline checks a live run equals
``2 x (planned + re-fetched)`` symbols against the fake).

Run: ``.venv/bin/python -m bench.refresh_credits``. Prints ratios against today's incremental refresh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from autoindex.market.planning import SymbolProgress, plan_refresh
from autoindex.market.providers.twelvedata.client import _DIVIDEND_CREDITS

# The seeded default universe: 13 constituents, the benchmark and the 21 USD/XXX pairs.
UNIVERSE = 13 + 1 + 21
NOW = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # a Wednesday evening, after the close has settled


def _credits(overlap: int, dividends: str, refetched: int = 0) -> int:
    yesterday = date(2026, 12, 1)
    progress = [SymbolProgress(f"S{i}", yesterday, yesterday) for i in range(UNIVERSE)]
    plan = plan_refresh(
        progress,
        now=NOW,
        exchange_timezone="America/New_York",
        settle=timedelta(minutes=30),
        history_start=date(2000, 1, 3),
        batch_symbols=8,
        max_bars=5000,
        overlap=overlap,
    )
    per_symbol = 1 + _DIVIDEND_CREDITS[dividends]
    symbols = sum(len(b.symbols) for b in plan.batches)
    return per_symbol * (symbols + refetched)


def main() -> int:
    base = _credits(0, "off")
    rows = [
        ("incremental, no overlap, price bars only (today)", _credits(0, "off")),
        ("with the 5-bar overlap", _credits(5, "off")),
        ("with the overlap and derived dividends (default)", _credits(5, "derived")),
        ("the default, on the day a split re-fetches one symbol", _credits(5, "derived", refetched=1)),
        ("with the overlap and /dividends (endpoint mode)", _credits(5, "endpoint")),
    ]
    for name, credits in rows:
        print(f"{name}: {credits} credits -> {credits / base:.2f}x today's refresh")
    overlap_ok = _credits(5, "off") <= 1.3 * base
    print(f"overlap alone within 1.3x of today's refresh: {'OK' if overlap_ok else 'OVER GOAL'}")
    return 0 if overlap_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
