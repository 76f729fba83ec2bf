"""The total-return index: the price index's portfolio with every cash distribution reinvested.

Same formation date, same rebalances (dates, target weights, transaction costs on its own turnover) as
the price index; the only difference is what a holding earns on a day. A dividend of ``d`` per share with
ex-date ``t`` is reinvested at the close of ``t`` into the asset that paid it, so that day the holding
grows by ``(close_t + d) / close_prev`` instead of ``close_t / close_prev``. A distribution on a day the
asset has no close waits for its next close. With no dividends the two indices are equal. The method:
``docs/index-method.md`` ("Total return").

:func:`total_return_index` computes it in full; :func:`extend_total_return` continues from a
:class:`TotalReturnState` and gives the numbers a full computation would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from autoindex.index.engine._arrays import DateArray, FloatArray, check_dates, check_matrix, to_date

#: Version of the serialised state; :meth:`TotalReturnState.from_dict` refuses others.
STATE_FORMAT = 1
_BASE_VALUE = 100.0  # the price index's base value (engine.index.BASE_VALUE), repeated to keep this module apart
_BPS = 10_000.0


class RebalanceLike(Protocol):
    """What the total-return index needs of a price-index rebalance (``engine.result.Rebalance`` fits)."""

    @property
    def date(self) -> dt.date: ...

    @property
    def weights(self) -> FloatArray: ...

    @property
    def initial(self) -> bool: ...


class TotalReturnMismatch(ValueError):
    """The state cannot be extended with these inputs (other assets, old dates): recompute in full."""


@dataclass(frozen=True, slots=True)
class TotalReturnState:
    """The total-return index at its last computed date.

    Attributes
    ----------
    last_date
        The last trading date processed (``None`` before any).
    formed
        Whether the portfolio exists (the price index's formation has happened).
    value
        The total-return index value on ``last_date`` (NaN before formation).
    positions
        Value held in each asset on ``last_date`` (sums to ``value``).
    last_close
        Last valid (finite, positive) close per asset (NaN if none).
    pending
        Distributions per share whose ex-date had no close yet, paid at the asset's next close.
    """

    last_date: dt.date | None
    formed: bool
    value: float
    positions: FloatArray
    last_close: FloatArray
    pending: FloatArray

    @classmethod
    def initial(cls, assets: int) -> TotalReturnState:
        nan = np.full(assets, np.nan)
        return cls(None, False, float("nan"), np.zeros(assets), nan, np.zeros(assets))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible form (NaN as ``None``)."""

        def floats(values: FloatArray) -> list[float | None]:
            return [None if not np.isfinite(v) else float(v) for v in values.tolist()]

        return {
            "format": STATE_FORMAT,
            "last_date": None if self.last_date is None else self.last_date.isoformat(),
            "formed": self.formed,
            "value": self.value if np.isfinite(self.value) else None,
            "positions": floats(self.positions),
            "last_close": floats(self.last_close),
            "pending": floats(self.pending),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TotalReturnState:
        if data.get("format") != STATE_FORMAT:
            raise TotalReturnMismatch(f"unsupported total-return state format {data.get('format')!r}")

        def floats(values: list[float | None]) -> FloatArray:
            return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

        value = data["value"]
        return cls(
            last_date=None if data["last_date"] is None else dt.date.fromisoformat(data["last_date"]),
            formed=bool(data["formed"]),
            value=float("nan") if value is None else float(value),
            positions=floats(data["positions"]),
            last_close=floats(data["last_close"]),
            pending=floats(data["pending"]),
        )


@dataclass(frozen=True, slots=True)
class TotalReturnResult:
    """Values from the formation (or the state's next date) on, and the state after the block."""

    dates: DateArray
    values: FloatArray
    state: TotalReturnState


def total_return_index(
    dates: DateArray | Sequence[dt.date],
    prices: npt.ArrayLike,
    dividends: npt.ArrayLike,
    rebalances: Sequence[RebalanceLike],
    *,
    transaction_cost_bps: float,
) -> TotalReturnResult:
    """The total-return index from the first date of the data.

    Parameters
    ----------
    dates
        Strictly increasing trading dates (the price index's).
    prices
        Raw closes, dates x assets, NaN where missing.
    dividends
        Cash per share with its ex-date on that row, dates x assets, 0 where none.
    rebalances
        The price index's rebalances (its formation first), as ``compute_index`` returned them.
    transaction_cost_bps
        The strategy's cost per unit of turnover.
    """
    closes = np.asarray(prices, dtype=np.float64)
    assets = closes.shape[1] if closes.ndim == 2 else 0
    return extend_total_return(
        TotalReturnState.initial(assets),
        dates,
        closes,
        dividends,
        rebalances,
        transaction_cost_bps=transaction_cost_bps,
    )


def extend_total_return(
    state: TotalReturnState,
    dates: DateArray | Sequence[dt.date],
    prices: npt.ArrayLike,
    dividends: npt.ArrayLike,
    rebalances: Sequence[RebalanceLike],
    *,
    transaction_cost_bps: float,
) -> TotalReturnResult:
    """Extend from ``state`` by the dates after its last date; arguments as :func:`total_return_index`."""
    days = check_dates(np.asarray(dates))
    n = state.positions.size
    closes = check_matrix(prices, days.size, n, "prices")
    paid = check_matrix(dividends, days.size, n, "dividends")
    if state.last_date is not None and days.size and days[0] <= np.datetime64(state.last_date, "D"):
        raise TotalReturnMismatch("new dates must come after the state's last date")
    trades = {r.date: r for r in rebalances}
    formed, value = state.formed, state.value
    positions, last_close, pending = state.positions.copy(), state.last_close.copy(), state.pending.copy()
    values = np.full(days.size, np.nan)
    first = 0 if formed else days.size
    for row in range(days.size):
        close = closes[row]
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(close) & (close > 0.0)
        pending = pending + np.where(np.isfinite(paid[row]), paid[row], 0.0)
        known = valid & np.isfinite(last_close)
        growth = np.ones(n)
        growth[known] = (close[known] + pending[known]) / last_close[known]
        pending[valid] = 0.0  # paid at this close (to nobody when the asset had no earlier close)
        last_close[valid] = close[valid]
        if formed:
            positions = positions * growth
            value = float(positions.sum())
        trade = trades.get(to_date(days[row]))
        if trade is not None:
            target = np.asarray(trade.weights, dtype=np.float64)
            if trade.initial or not formed:
                formed, value, first = True, _BASE_VALUE, min(first, row)
            else:
                turnover = float(np.abs(target - positions / value).sum())
                value *= 1.0 - transaction_cost_bps / _BPS * turnover
            positions = value * target
        values[row] = value
    last = to_date(days[-1]) if days.size else state.last_date
    after = TotalReturnState(last, formed, value, positions, last_close, pending)
    return TotalReturnResult(dates=days[first:], values=values[first:], state=after)
