"""Credits of a daily refresh of the default universe: with the overlap against without it, with dividends
derived against price bars alone, what a split's re-fetch adds and what a backfill costs, from the planner and
the client's cost model per instrument (the numbers the ingest job puts on a run:
tests/integration/pipeline/test_splits.py checks a live split day against the fake's own request log).

The cost model, per planned symbol and ``TWELVEDATA_DIVIDENDS`` mode:

- an instrument that cannot pay (FX pairs, SPX; ``providers/payers.py``): one ``adjust=splits`` call;
- a payer (the stocks and ETFs) on an incremental refresh in ``derived`` mode: one ``adjust=all`` call decoded
  against the stored overlap (``providers/dividend_decode.py``; a second call only when that is not exact);
  on a backfill: both bases, and its ``adjust=none`` closes for the splits (``providers/splits.py``);
- a split day: the split symbol's overlap cannot be decoded (one ``adjust=splits`` call more), then its whole
  history in both bases and unadjusted.

Run: ``.venv/bin/python -m bench.refresh_credits``. Prints ratios against today's incremental refresh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from autoindex.market.planning import SymbolProgress, plan_refresh
from autoindex.market.providers.twelvedata.client import CAPABILITIES, DIVIDENDS_ENDPOINT_CREDITS

# The seeded default universe: 13 constituents (stocks and ETFs: they pay and split), the benchmark and the
# 21 USD/XXX pairs (neither pays nor splits).
PAYERS = 13
UNIVERSE = PAYERS + 1 + 21
NOW = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # a Wednesday evening, after the close has settled


def _payer_calls(dividends: str, backfill: bool) -> int:
    """Credits of one payer's window in this mode (one symbol of one call is one credit)."""
    if dividends == "off":
        return 1
    if dividends == "endpoint":
        return 1 + DIVIDENDS_ENDPOINT_CREDITS
    return 2 if backfill else 1  # derived: both bases for a first fill, one decoded call after it


def _credits(overlap: int, dividends: str, *, split_day: bool = False, backfill: bool = False) -> int:
    yesterday = date(2026, 12, 1)
    known = None if backfill else yesterday
    progress = [SymbolProgress(f"S{i:02d}", known, known) for i in range(UNIVERSE)]
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
    planned = [s for b in plan.batches for s in b.symbols]
    payers = [s for s in planned if int(s[1:]) < PAYERS]
    credits = len(planned) - len(payers) + len(payers) * _payer_calls(dividends, backfill)
    if backfill:
        credits += CAPABILITIES.split_cost(len(payers))
    if split_day:  # the fallen overlap's split-adjusted call, then the whole history and its splits
        credits += (1 if dividends == "derived" else 0) + _payer_calls(dividends, True) + CAPABILITIES.split_cost(1)
    return credits


def main() -> int:
    base = _credits(0, "off")
    daily = _credits(5, "derived")
    split = _credits(5, "derived", split_day=True)
    rows = [
        ("incremental, no overlap, price bars only (before issue 10)", base),
        ("with the 5-bar overlap", _credits(5, "off")),
        ("with the overlap and derived dividends (default)", daily),
        ("the default, on the day a split re-fetches one symbol", split),
        ("the default, backfilling the universe from HISTORY_START", _credits(5, "derived", backfill=True)),
        ("with the overlap and /dividends (endpoint mode)", _credits(5, "endpoint")),
    ]
    for name, credits in rows:
        print(f"{name}: {credits} credits -> {credits / base:.2f}x today's refresh")
    print(f"a split day over its plan: {split} = {daily} planned + {split - daily} for the split symbol")
    overlap_ok = _credits(5, "off") <= 1.3 * base
    print(f"overlap alone within 1.3x of today's refresh: {'OK' if overlap_ok else 'OVER GOAL'}")
    return 0 if overlap_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
