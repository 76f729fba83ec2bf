"""The state at the last computed date: everything needed to extend the index by new days.

An extension from this state gives the same numbers as a full recompute (to floating-point noise),
because the state carries every input the next days depend on: holdings, value, cleaning carry
(last closes and trailing clipped returns), the trailing cleaned returns of the look-back window and
the last known market capitalisations. :meth:`IndexState.to_dict` and :meth:`IndexState.from_dict`
give a JSON-compatible form (NaN as ``None``) for storage. The method: ``docs/index-method.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from autoindex.index.engine._arrays import FloatArray
from autoindex.index.engine.cleaning import CleaningCarry
from autoindex.index.engine.strategy import StrategyParams

#: Version of the serialised form; :meth:`IndexState.from_dict` refuses others.
#: 2: holdings earn actual returns (``last_close``); a state of an earlier method is recomputed in full.
STATE_FORMAT = 2


class StateMismatch(ValueError):
    """The state cannot be extended with these inputs (other strategy, other assets, old dates): recompute."""


@dataclass(frozen=True, slots=True)
class IndexState:
    """The index at its last computed date.

    Attributes
    ----------
    params
        The strategy the state was computed with.
    assets
        Asset identifiers, in column order.
    last_date
        The last trading date processed (``None`` before any).
    formed
        Whether the first portfolio has been formed (the index exists).
    value
        The index value on ``last_date`` (NaN before formation).
    positions
        Value held in each asset on ``last_date`` (sums to ``value``; zeros before formation).
    last_rebalance
        Date of the last rebalance (``None`` before formation).
    cleaning
        The cleaning carry.
    return_tail
        Cleaned returns of the last ``params.window_days`` trading days, oldest first, NaN-padded.
    last_caps
        Last known market capitalisation per asset (NaN where unknown).
    last_close
        Last valid (finite, positive) close per asset, for the holdings' actual returns (NaN if none).
    target
        The target weights of the last rebalance (zeros before formation), for the drift band.
    since_rebalance
        Trading days from the last rebalance to ``last_date`` (0 on a rebalance date).
    """

    params: StrategyParams
    assets: tuple[str, ...]
    last_date: dt.date | None
    formed: bool
    value: float
    positions: FloatArray
    last_rebalance: dt.date | None
    cleaning: CleaningCarry
    return_tail: FloatArray
    last_caps: FloatArray
    last_close: FloatArray
    target: FloatArray
    since_rebalance: int

    @classmethod
    def initial(cls, params: StrategyParams, assets: tuple[str, ...]) -> IndexState:
        """The state before the first trading date."""
        n = len(assets)
        return cls(
            params=params,
            assets=assets,
            last_date=None,
            formed=False,
            value=float("nan"),
            positions=np.zeros(n),
            last_rebalance=None,
            cleaning=CleaningCarry.empty(n, params),
            return_tail=np.full((params.window_days, n), np.nan),
            last_caps=np.full(n, np.nan),
            last_close=np.full(n, np.nan),
            target=np.zeros(n),
            since_rebalance=0,
        )

    @property
    def weights(self) -> FloatArray:
        """Drifted weights on ``last_date`` (zeros before formation)."""
        if not self.formed:
            return np.zeros(len(self.assets))
        weights: FloatArray = self.positions / self.value
        return weights

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible form of the state (NaN as ``None``)."""
        return {
            "format": STATE_FORMAT,
            "params": self.params.model_dump(mode="json"),
            "assets": list(self.assets),
            "last_date": _iso(self.last_date),
            "formed": self.formed,
            "value": _json(np.asarray(self.value)),
            "positions": _json(self.positions),
            "last_rebalance": _iso(self.last_rebalance),
            "last_price": _json(self.cleaning.last_price),
            "age": self.cleaning.age.tolist(),
            "present": self.cleaning.present.tolist(),
            "clipped_tail": _json(self.cleaning.clipped_tail),
            "return_tail": _json(self.return_tail),
            "last_caps": _json(self.last_caps),
            "last_close": _json(self.last_close),
            "target": _json(self.target),
            "since_rebalance": self.since_rebalance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexState:
        """Rebuild a state written by :meth:`to_dict`."""
        if data.get("format") != STATE_FORMAT:
            raise StateMismatch(f"unsupported index state format {data.get('format')!r}")
        params = StrategyParams.model_validate(data["params"])
        n = len(data["assets"])
        window, tail = params.window_days, params.volatility_lookback_days
        return cls(
            params=params,
            assets=tuple(data["assets"]),
            last_date=_date(data["last_date"]),
            formed=bool(data["formed"]),
            value=float(_array(data["value"], ())),
            positions=_array(data["positions"], (n,)),
            last_rebalance=_date(data["last_rebalance"]),
            cleaning=CleaningCarry(
                last_price=_array(data["last_price"], (n,)),
                age=np.asarray(data["age"], dtype=np.int64).reshape(n),
                present=np.asarray(data["present"], dtype=np.bool_).reshape(n),
                clipped_tail=_array(data["clipped_tail"], (tail, n)),
            ),
            return_tail=_array(data["return_tail"], (window, n)),
            last_caps=_array(data["last_caps"], (n,)),
            last_close=_array(data["last_close"], (n,)),
            target=_array(data["target"], (n,)),
            since_rebalance=int(data["since_rebalance"]),
        )


def _json(values: FloatArray) -> Any:
    boxed = values.astype(object)
    boxed[np.isnan(values)] = None
    return boxed.tolist()


def _array(values: Any, shape: tuple[int, ...]) -> FloatArray:
    return np.asarray(values, dtype=object).astype(np.float64).reshape(shape)


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)
