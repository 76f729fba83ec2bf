"""Sort a provider's answer for one refresh batch into the rows to store and the reasons it fell short.

Pure: no database and no provider calls, so every rule here is tested on its own (tests/unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from autoindex.market.providers.protocol import SymbolBars, SymbolError

MAX_REASON = 500  # characters of a reason kept on the run (the column's width)


class PriceRow(NamedTuple):
    """One daily bar as it is stored: by asset id, exact decimals."""

    asset_id: int
    date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None


@dataclass(frozen=True, slots=True)
class SortedBatch:
    rows: list[PriceRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # symbol -> why it is short or absent
    rejected: int = 0  # provider rows refused by validation
    checked: list[int] = field(default_factory=list)  # asset ids the provider answered for over the whole range
    source: str | None = None  # the provider that answered, when any symbol was answered


def sort_results(
    symbols: Sequence[str],
    start: date,
    end: date,
    asset_ids: Mapping[str, int],
    results: Mapping[str, SymbolBars | SymbolError],
) -> SortedBatch:
    """Rows inside ``[start, end]`` for every answered symbol, and a reason for each symbol that fell short.

    A symbol is *checked* through ``end`` when the provider answered for it, even with no bars (a
    holiday, or an instrument that did not trade), so the next plan does not ask again. Bars outside
    the asked range are dropped: a provider that sends more must not write days nobody planned.
    """
    out = SortedBatch()
    source: str | None = None
    rejected = 0
    for symbol in symbols:
        result = results.get(symbol)
        asset_id = asset_ids.get(symbol)
        if asset_id is None:
            out.errors[symbol] = "not in the asset table"
        elif result is None:
            out.errors[symbol] = "missing from the provider's answer"
        elif isinstance(result, SymbolError):
            out.errors[symbol] = result.message[:MAX_REASON]
        else:
            source = result.source
            out.checked.append(asset_id)
            out.rows.extend(
                PriceRow(asset_id, bar.date, bar.open, bar.high, bar.low, bar.close, bar.volume)
                for bar in result.bars
                if start <= bar.date <= end
            )
            if result.rejected:
                rejected += len(result.rejected)
                reasons = "; ".join(sorted({r.reason for r in result.rejected}))
                out.errors[symbol] = f"{len(result.rejected)} rows rejected: {reasons}"[:MAX_REASON]
    return SortedBatch(out.rows, out.errors, rejected, out.checked, source)
