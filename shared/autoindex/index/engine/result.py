"""What the index engine returns: the rebalances and the index over a block of dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np

from autoindex.index.engine._arrays import DateArray, FloatArray
from autoindex.index.engine.state import IndexState
from autoindex.index.engine.weights import WeightDecision

#: Why a rebalance happened: its schedule (and the formation), a drifted weight, or an operator's request.
Trigger = Literal["schedule", "drift", "request"]


@dataclass(frozen=True, slots=True)
class Rebalance:
    """One rebalance (or the formation of the first portfolio).

    Attributes
    ----------
    date
        The rebalance date; weights come from data strictly before it, the trade is at its close.
    weights
        Target weights after the trade (one per asset, summing to 1).
    decision
        The full decision: eligibility, signals, the three schemes, fallback flags.
    turnover
        Sum of absolute weight changes against the drifted weights (0 at formation).
    cost
        Share of the index value paid in transaction costs.
    value_before, value_after
        Index value at the close before and after the trade.
    initial
        Whether this is the formation of the first portfolio.
    notes
        Plain-language notes for clients: fallbacks that stood in, constraints relaxed.
    trigger
        ``schedule`` (and the formation), ``drift`` or ``request``.
    """

    date: dt.date
    weights: FloatArray
    decision: WeightDecision
    turnover: float
    cost: float
    value_before: float
    value_after: float
    initial: bool
    notes: tuple[str, ...]
    trigger: Trigger = "schedule"


@dataclass(frozen=True, slots=True)
class IndexResult:
    """The index over a block of dates (all of them for a full compute, the new ones for an extension).

    Attributes
    ----------
    assets
        Asset identifiers, in column order.
    dates, values
        The dates with an index value (from the base date on) and the values.
    weights
        Drifted weights at each of those closes (after the trade on rebalance dates), dates x assets.
    rebalances
        The rebalances in the block, oldest first.
    skipped_rebalances
        Scheduled dates in the block on which no asset was eligible.
    state
        The state at the last date of the block, for the next extension.
    """

    assets: tuple[str, ...]
    dates: DateArray
    values: FloatArray
    weights: FloatArray
    rebalances: tuple[Rebalance, ...]
    skipped_rebalances: tuple[dt.date, ...]
    state: IndexState

    @property
    def market_cap_fallback(self) -> bool:
        """Whether equal weights stood in for a missing market capitalisation at any rebalance."""
        return any(bool(r.decision.market_cap_fallback.any()) for r in self.rebalances)

    @property
    def market_cap_note(self) -> str | None:
        """Which assets had equal weights standing in for market capitalisation, or ``None``."""
        flagged = np.zeros(len(self.assets), dtype=np.bool_)
        for rebalance in self.rebalances:
            flagged |= rebalance.decision.market_cap_fallback
        if not flagged.any():
            return None
        return _cap_note(self.assets, flagged)


def _cap_note(assets: tuple[str, ...], flagged: np.ndarray) -> str:
    names = ", ".join(name for name, hit in zip(assets, flagged, strict=True) if hit)
    return f"equal weights stood in for the market-cap scheme (no market capitalisation) for: {names}"


def rebalance_notes(assets: tuple[str, ...], decision: WeightDecision, initial: bool) -> tuple[str, ...]:
    """Plain-language notes on a rebalance: formation, fallbacks that stood in, a relaxed cap."""
    notes = ["first portfolio formed: the index starts at 100 here"] if initial else []
    if decision.market_cap_fallback.any():
        notes.append(_cap_note(assets, decision.market_cap_fallback))
    if decision.momentum_fallback:
        notes.append("no asset's momentum was above the threshold: equal weights stood in for the momentum scheme")
    if decision.stale.any():
        names = ", ".join(name for name, hit in zip(assets, decision.stale, strict=True) if hit)
        notes.append(f"stale price feed (close unchanged while other assets traded), not held: {names}")
    if decision.cap_relaxed:
        notes.append("too few eligible assets for the per-asset cap: weights are equal")
    return tuple(notes)
