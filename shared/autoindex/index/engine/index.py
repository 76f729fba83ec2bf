"""The index series: rebalance from data strictly before each date, drift in between, pay costs.

:func:`compute_index` computes it in full; :func:`extend_index` continues from an :class:`IndexState`
and produces the numbers a full :func:`compute_index` would. The method (formation, drift,
rebalancing, costs, skipped rebalances): ``docs/index-method.md`` ("The index").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from autoindex.index.engine._arrays import (
    DateArray,
    FloatArray,
    IntArray,
    accumulate_rows,
    check_dates,
    check_matrix,
    to_date,
)
from autoindex.index.engine.cleaning import clean_prices
from autoindex.index.engine.holding_returns import holding_returns
from autoindex.index.engine.result import IndexResult, Rebalance, Trigger, rebalance_notes
from autoindex.index.engine.schedule import scheduled
from autoindex.index.engine.state import IndexState, StateMismatch
from autoindex.index.engine.strategy import StrategyParams
from autoindex.index.engine.weights import WeightDecision, decide_weights

__all__ = [
    "BASE_VALUE",
    "IndexResult",
    "IndexState",
    "Rebalance",
    "StateMismatch",
    "compute_index",
    "extend_index",
]

#: The index value on its base date.
BASE_VALUE = 100.0

_BPS = 10_000.0


def compute_index(
    dates: DateArray | Sequence[dt.date],
    prices: npt.ArrayLike,
    params: StrategyParams,
    *,
    assets: Sequence[str],
    market_caps: npt.ArrayLike | None = None,
    requested: Sequence[dt.date] = (),
) -> IndexResult:
    """Compute the index from the first date of the data.

    Parameters
    ----------
    dates
        Strictly increasing trading dates.
    prices
        Raw closes, dates x assets, NaN where missing.
    params
        The strategy.
    assets
        Asset identifiers, one per column (used in notes and to check later extensions).
    market_caps
        Market capitalisations, dates x assets, NaN where unknown; ``None`` when none are available
        (equal weights then stand in for the market-cap scheme, and the result says so).
    requested
        Dates of requested off-schedule rebalances: each happens at the close of the first trading
        date on or after its date (once the index exists).

    Returns
    -------
    IndexResult
    """
    names = tuple(assets)
    return extend_index(
        IndexState.initial(params, names),
        dates,
        prices,
        params,
        assets=names,
        market_caps=market_caps,
        requested=requested,
    )


def extend_index(
    state: IndexState,
    dates: DateArray | Sequence[dt.date],
    prices: npt.ArrayLike,
    params: StrategyParams,
    *,
    assets: Sequence[str],
    market_caps: npt.ArrayLike | None = None,
    requested: Sequence[dt.date] = (),
) -> IndexResult:
    """Extend the index from ``state`` by the trading dates after its last date.

    Parameters are those of :func:`compute_index`, for the new dates only; ``params`` and ``assets``
    must equal the state's (:class:`StateMismatch` otherwise: recompute in full).

    Returns
    -------
    IndexResult
        The new dates' values, weights and rebalances, and the new state.
    """
    names = tuple(assets)
    if params != state.params:
        raise StateMismatch("the strategy changed since the state was computed; recompute in full")
    if names != state.assets:
        raise StateMismatch("the assets differ from the state's; recompute in full")
    if len(set(names)) != len(names) or not names:
        raise ValueError("assets must be a non-empty sequence of distinct identifiers")
    days = check_dates(np.asarray(dates))
    if state.last_date is not None and days.size and days[0] <= np.datetime64(state.last_date, "D"):
        raise StateMismatch("new dates must come after the state's last date")
    closes = check_matrix(prices, days.size, len(names), "prices")
    caps = None if market_caps is None else check_matrix(market_caps, days.size, len(names), "market_caps")
    return _Run(state, days, closes, caps, _requested_rows(days, requested, state.last_date)).result()


class _Run:
    """One pass over a block of new dates."""

    def __init__(
        self, state: IndexState, dates: DateArray, closes: FloatArray, caps: FloatArray | None, requested: IntArray
    ) -> None:
        self.state, self.params, self.dates = state, state.params, dates
        cleaned = clean_prices(closes, self.params, state.cleaning)
        self.cleaned = cleaned
        # Cleaned returns feed the signals only; holdings earn what their assets actually returned.
        self.returns, self.last_close = holding_returns(closes, state.last_close)
        # History rows before each new row: the state's tail first, then the block.
        self.history = np.vstack([state.return_tail, cleaned.returns])
        self.present_before = np.vstack([state.cleaning.present[None, :], cleaned.present[:-1]])
        self.caps_asof = _carry_caps(caps, state.last_caps, dates.size)
        self.caps_before = np.vstack([state.last_caps[None, :], self.caps_asof[:-1]])
        previous = None if state.last_date is None else np.datetime64(state.last_date, "D")
        self.scheduled = np.flatnonzero(scheduled(dates, previous, self.params.rebalance_frequency))
        self.requested = requested
        self.target, self.since = state.target.copy(), state.since_rebalance
        n = len(state.assets)
        self.values = np.full(dates.size, np.nan)
        self.weights = np.zeros((dates.size, n))
        self.rebalances: list[Rebalance] = []
        self.skipped: list[dt.date] = []
        self.formed, self.value, self.positions = state.formed, state.value, state.positions.copy()
        self.last_rebalance = state.last_rebalance
        self.first_row = 0 if state.formed else dates.size

    def result(self) -> IndexResult:
        row = 0
        while row < self.dates.size:
            row = self._step(row)
        window = self.params.window_days
        state = IndexState(
            params=self.params,
            assets=self.state.assets,
            last_date=to_date(self.dates[-1]) if self.dates.size else self.state.last_date,
            formed=self.formed,
            value=self.value,
            positions=self.positions,
            last_rebalance=self.last_rebalance,
            cleaning=self.cleaned.carry,
            return_tail=self.history[-window:].copy(),
            last_caps=self.caps_asof[-1].copy() if self.dates.size else self.state.last_caps,
            last_close=self.last_close,
            target=self.target,
            since_rebalance=self.since,
        )
        first = self.first_row
        return IndexResult(
            assets=self.state.assets,
            dates=self.dates[first:],
            values=self.values[first:],
            weights=self.weights[first:],
            rebalances=tuple(self.rebalances),
            skipped_rebalances=tuple(self.skipped),
            state=state,
        )

    def _decide(self, row: int) -> WeightDecision | None:
        window = self.history[row : row + self.params.window_days]
        return decide_weights(window, self.present_before[row], self.caps_before[row], self.params)

    def _step(self, row: int) -> int:
        """Process from ``row``; return the next row to process."""
        if not self.formed:
            has_past = row > 0 or self.state.last_date is not None
            decision = self._decide(row) if has_past else None
            if decision is not None:
                self._form(row, decision)
            return row + 1
        end, trigger = self._next_event(row)
        self._drift(row, end)
        if trigger is not None:
            decision = self._decide(end)
            if decision is None:
                self.skipped.append(to_date(self.dates[end]))
            else:
                self._trade(end, decision, trigger)
        return end + 1

    def _next_event(self, row: int) -> tuple[int, Trigger | None]:
        """The next row to rebalance on from ``row`` (the last row and ``None`` if there is none)."""
        last = self.dates.size - 1
        candidates: list[tuple[int, Trigger]] = []
        at = int(np.searchsorted(self.scheduled, row))
        if at < self.scheduled.size:
            candidates.append((int(self.scheduled[at]), "schedule"))
        at = int(np.searchsorted(self.requested, row))
        if at < self.requested.size:
            candidates.append((int(self.requested[at]), "request"))
        end, trigger = min(candidates, key=lambda c: c[0]) if candidates else (last, None)
        drift_row = self._drift_trigger(row, end)
        if drift_row is not None and (drift_row < end or trigger is None):
            return drift_row, "drift"  # a scheduled or requested rebalance on the same row takes precedence
        return end, trigger

    def _drift_trigger(self, row: int, end: int) -> int | None:
        """The first row in [row, end] whose previous close had a weight outside the band, after the cooldown.

        The test reads the close *before* the row, so a rebalance on a date still uses only earlier data.
        """
        band = self.params.drift_band
        if band is None:
            return None
        growth = np.cumprod(1.0 + self.returns[row:end], axis=0)
        path = np.vstack([self.positions[None, :], self.positions * growth])  # closes row-1 .. end-1
        weights = path / path.sum(axis=1)[:, None]
        gap = np.abs(weights - self.target)
        if self.params.drift_band_type == "relative":
            with np.errstate(invalid="ignore", divide="ignore"):
                outside = np.any((self.target > 0.0) & (gap > band * self.target), axis=1)
        else:
            outside = np.any(gap > band, axis=1)
        since = self.since + np.arange(1, end - row + 2)  # trading days since the last rebalance, per row
        hits = np.flatnonzero(outside & (since >= self.params.drift_cooldown_days))
        return row + int(hits[0]) if hits.size else None

    def _form(self, row: int, decision: WeightDecision) -> None:
        self.formed, self.first_row = True, row
        self.value = BASE_VALUE
        self.positions = BASE_VALUE * decision.weights
        self._record(row, decision, turnover=0.0, cost=0.0, before=BASE_VALUE, initial=True)

    def _drift(self, start: int, end: int) -> None:
        growth = np.cumprod(1.0 + self.returns[start : end + 1], axis=0)
        path = self.positions * growth
        values = path.sum(axis=1)
        self.values[start : end + 1] = values
        self.weights[start : end + 1] = path / values[:, None]
        self.positions, self.value = path[-1], float(values[-1])
        self.since += end - start + 1

    def _trade(self, row: int, decision: WeightDecision, trigger: Trigger) -> None:
        before = self.value
        turnover = float(np.abs(decision.weights - self.positions / before).sum())
        cost = self.params.transaction_cost_bps / _BPS * turnover
        self.value = before * (1.0 - cost)
        self.positions = self.value * decision.weights
        self._record(row, decision, turnover=turnover, cost=cost, before=before, initial=False, trigger=trigger)

    def _record(
        self,
        row: int,
        decision: WeightDecision,
        *,
        turnover: float,
        cost: float,
        before: float,
        initial: bool,
        trigger: Trigger = "schedule",
    ) -> None:
        day = to_date(self.dates[row])
        self.values[row] = self.value
        self.weights[row] = decision.weights
        self.last_rebalance = day
        self.target, self.since = decision.weights.copy(), 0
        self.rebalances.append(
            Rebalance(
                date=day,
                weights=decision.weights,
                decision=decision,
                turnover=turnover,
                cost=cost,
                value_before=before,
                value_after=self.value,
                initial=initial,
                notes=rebalance_notes(self.state.assets, decision, initial),
                trigger=trigger,
            )
        )


def _requested_rows(days: DateArray, requested: Sequence[dt.date], after: dt.date | None) -> IntArray:
    """Rows of the first trading date on or after each requested date (dates up to ``after`` are done)."""
    if not requested or days.size == 0:
        return np.empty(0, dtype=np.int64)
    asked = np.array(sorted({np.datetime64(d, "D") for d in requested}))
    if after is not None:
        asked = asked[asked > np.datetime64(after, "D")]
    rows = np.searchsorted(days, asked, side="left")
    found: IntArray = np.unique(rows[rows < days.size]).astype(np.int64)
    return found


def _carry_caps(caps: FloatArray | None, last: FloatArray, rows: int) -> FloatArray:
    """Last known market cap per asset as of each row (inclusive), continuing from ``last``.

    Positive caps and 0 (excluded by rule) are carried; NaN and negative values are not known.
    """
    if caps is None:
        return np.broadcast_to(last, (rows, last.size)).copy()
    with np.errstate(invalid="ignore"):
        known = np.isfinite(caps) & (caps >= 0.0)
    index = np.arange(rows)[:, None]
    latest = accumulate_rows(np.maximum, np.where(known, index, -1))
    from_block = np.take_along_axis(caps, np.maximum(latest, 0), axis=0)
    carried: FloatArray = np.where(latest >= 0, from_block, last[None, :])
    return carried
