"""Deterministic synthetic daily OHLCV, the same on every machine and in every process.

Each symbol's path is geometric Brownian motion on business days (Monday to Friday) from
:data:`ORIGIN`, with drift and volatility by asset type. The random draws come in blocks of
:data:`BLOCK` days, each seeded by a BLAKE2 hash of ``(symbol, block)`` (never Python's
randomised ``hash()``), so the bar of a given day does not depend on the range asked for.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from autoindex.market.providers.catalog import Kind, lookup

ORIGIN = date(2000, 1, 3)  # a Monday; day index 0
BLOCK = 256
_TRADING_DAYS = 252

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SeriesParams:
    start: float  # price on ORIGIN
    drift: float  # annual
    vol: float  # annual
    volume: float | None  # typical daily volume; None for FX
    dp: int  # decimal places
    half_life_days: float  # how fast the price returns towards its trend


# (start price, annual drift, annual volatility, typical volume) for the default universe.
_KNOWN: dict[str, tuple[float, float, float, float | None]] = {
    "SPY": (145.0, 0.07, 0.17, 8.0e7),
    "SPX": (1455.0, 0.07, 0.17, 2.5e9),
    "GLD": (60.0, 0.06, 0.15, 9.0e6),
    "SLV": (9.0, 0.04, 0.28, 2.0e7),
    "USO": (60.0, -0.02, 0.33, 5.0e6),
    "TLT": (85.0, 0.01, 0.14, 1.5e7),
    "IEF": (80.0, 0.01, 0.07, 6.0e6),
}
# (annual drift, low and high annual volatility, typical volume) by asset type.
_BY_KIND: dict[Kind, tuple[float, float, float, float | None]] = {
    "stock": (0.10, 0.24, 0.45, 3.0e7),
    "etf": (0.05, 0.10, 0.22, 1.0e7),
    "index": (0.07, 0.15, 0.20, 2.0e9),
    "fx": (0.0, 0.06, 0.12, None),
    "crypto": (0.25, 0.60, 0.90, 2.0e4),
}
# Half-life, in business days, of a deviation from the trend.
_HALF_LIFE: dict[Kind, float] = {"stock": 1_260.0, "etf": 1_260.0, "index": 2_000.0, "fx": 380.0, "crypto": 500.0}
# Plausible USD/XXX levels around 2000-2020, so demo FX conversions look like money.
_FX_LEVELS: dict[str, float] = {
    "EUR": 0.95, "GBP": 0.70, "JPY": 110.0, "CHF": 1.05, "CAD": 1.30, "AUD": 1.45, "NZD": 1.55,
    "SEK": 9.0, "NOK": 8.8, "DKK": 7.0, "PLN": 3.9, "CZK": 24.0, "HUF": 260.0, "CNY": 7.0,
    "HKD": 7.8, "SGD": 1.4, "KRW": 1150.0, "INR": 65.0, "BRL": 3.5, "MXN": 17.0, "ZAR": 11.0,
}  # fmt: skip


def _digest(*parts: object) -> bytes:
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=16, person=b"autoindex-demo").digest()


def _unit(symbol: str, salt: str) -> float:
    """A stable number in [0, 1) derived from the symbol."""
    return int.from_bytes(_digest(symbol, salt)[:8], "big") / 2**64


def kind_of(symbol: str) -> Kind:
    """The asset type of a symbol: the catalog's, else FX for ``AAA/BBB``, else stock."""
    item = lookup(symbol)
    if item is not None:
        return item.kind
    return "fx" if "/" in symbol else "stock"


@functools.cache
def params_for(symbol: str) -> SeriesParams:
    """The series parameters of ``symbol`` (upper-case): known values, else drawn from its hash."""
    kind = kind_of(symbol)
    drift, vol_lo, vol_hi, volume = _BY_KIND[kind]
    vol = vol_lo + (vol_hi - vol_lo) * _unit(symbol, "vol")
    if symbol in _KNOWN:
        start, drift, vol, volume = _KNOWN[symbol]
    elif kind == "fx":
        quote = symbol.partition("/")[2]
        start = _FX_LEVELS.get(quote, 0.5 + 2.0 * _unit(symbol, "level"))
    else:
        start = 10.0 * math.exp(3.0 * _unit(symbol, "level"))  # 10 to 200, log-uniform
    dp = 5 if kind == "fx" else 4
    return SeriesParams(start=start, drift=drift, vol=vol, volume=volume, dp=dp, half_life_days=_HALF_LIFE[kind])


def _draws(symbol: str, block: int) -> FloatArray:
    seed = int.from_bytes(_digest(symbol, "block", block)[:8], "big")
    return np.random.Generator(np.random.PCG64(seed)).standard_normal((5, BLOCK))


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Synthetic daily bars over a range of business days; prices already rounded to ``dp``."""

    symbol: str
    dates: list[date]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: npt.NDArray[np.int64] | None
    dp: int


@functools.lru_cache(maxsize=128)
def _path(symbol: str, blocks: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
    p = params_for(symbol)
    z = np.concatenate([_draws(symbol, b) for b in range(blocks)], axis=1)
    sigma = p.vol / math.sqrt(_TRADING_DAYS)
    trend = (p.drift - 0.5 * p.vol**2) / _TRADING_DAYS * np.arange(1, z.shape[1] + 1)
    # Deviations from the trend revert (an AR(1) in log price), so decades of noise stay plausible.
    phi = math.exp(-math.log(2) / p.half_life_days)
    deviation = np.empty(z.shape[1])
    level = 0.0
    for i, shock in enumerate((sigma * z[0]).tolist()):
        level = phi * level + shock
        deviation[i] = level
    close = p.start * np.exp(trend + deviation)
    previous = np.concatenate(([p.start], close[:-1]))
    open_ = previous * np.exp(0.25 * sigma * z[1])
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(z[2]))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(z[3]))
    open_, high, low, close = (np.round(a, p.dp) for a in (open_, high, low, close))
    # Rounding may nudge open or close past an extreme; the extremes win so OHLC stays consistent.
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    volume = np.rint((p.volume or 0.0) * np.exp(0.35 * z[4])).astype(np.int64)
    return open_, high, low, close, volume


def _day_index(day: date) -> int:
    return int(np.busday_count(np.datetime64(ORIGIN, "D"), np.datetime64(day, "D")))


def daily_series(symbol: str, start: date, end: date, *, first_date: date | None = None) -> DailySeries:
    """Synthetic bars of ``symbol`` on the business days of ``[start, end]`` (inclusive).

    Parameters
    ----------
    symbol
        Any symbol; it is upper-cased. ``AAA/BBB`` is an FX pair (no volume).
    start, end
        The inclusive range; days before ``first_date`` (default: the catalog's, else ORIGIN) are empty.
    first_date
        The instrument's first trading day.

    Returns
    -------
    DailySeries
        Possibly empty when the range holds no business day.
    """
    key = symbol.strip().upper()
    item = lookup(key)
    earliest = max(first_date or (item.first_date if item else ORIGIN), ORIGIN)
    start = max(start, earliest)
    i0, i1 = _day_index(start), _day_index(end + timedelta(days=1))
    params = params_for(key)
    if i1 <= i0:
        empty = np.empty(0, dtype=np.float64)
        volume_empty = None if params.volume is None else np.empty(0, dtype=np.int64)
        return DailySeries(key, [], empty, empty, empty, empty, volume_empty, params.dp)
    o, h, low, c, v = _path(key, math.ceil(i1 / BLOCK))
    days = np.busday_offset(np.datetime64(ORIGIN, "D"), np.arange(i0, i1))
    dates = [d.item() for d in days]
    volume = None if params.volume is None else v[i0:i1]
    return DailySeries(key, dates, o[i0:i1], h[i0:i1], low[i0:i1], c[i0:i1], volume, params.dp)
