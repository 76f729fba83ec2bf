"""The fake's corporate actions: dividend back-adjustment of history, and the ``/dividends`` and ``/splits`` endpoints.

A dividend is given in today's share basis (split-adjusted), like the bars. ``adjust=all`` and
``adjust=dividends`` multiply every bar before an ex-date that has come by ``1 - amount / close`` of
the close before the ex-date, the back-adjustment data vendors publish; ``splits`` and ``none`` leave
dividends out. ``/dividends`` answers ``{"meta", "dividends": [{"ex_date", "amount"}]}`` and
``/splits`` ``{"meta", "splits": [{"date", "description", "ratio", "from_factor", "to_factor"}]}``,
newest first, optionally between ``start_date`` and ``end_date``.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from autoindex.market.providers.catalog import Instrument
from autoindex.market.providers.synthetic import daily_series

from autoindex_dev.fake_twelvedata import series
from autoindex_dev.fake_twelvedata.common import Context, Reply, parse_day, per_symbol

#: Credits of one symbol on these endpoints (Twelve Data's fundamentals weight; our reference is silent).
ACTION_CREDITS = 20


@functools.lru_cache(maxsize=1024)
def _close_before(symbol: str, day: date) -> float:
    """The continuous series' close on the last business day before ``day``."""
    closes = daily_series(symbol, day - timedelta(days=10), day - timedelta(days=1)).close
    return float(closes[-1]) if closes.size else float("nan")


def dividend_factor(symbol: str, day: date, dividends: list[tuple[str, float]], *, today: date) -> float:
    """How much the dividends with ex-dates after ``day`` (and on or before ``today``) scale its prices."""
    factor = 1.0
    for ex_date, amount in dividends:
        when = date.fromisoformat(ex_date)
        if day < when <= today:
            factor *= 1.0 - amount / _close_before(symbol, when)
    return factor


def apply_dividends(
    rows: list[series.Row], symbol: str, dividends: list[tuple[str, float]], today: date
) -> list[series.Row]:
    out = []
    for r in rows:
        f = dividend_factor(symbol, r.day, dividends, today=today)
        out.append(series.Row(r.day, r.open * f, r.high * f, r.low * f, r.close * f, r.volume) if f != 1.0 else r)
    return out


def _between(ctx: Context, day: str) -> bool:
    p = ctx.params
    start = parse_day(p["start_date"], "start_date") if "start_date" in p else date.min
    end = parse_day(p["end_date"], "end_date") if "end_date" in p else date.max
    return start <= date.fromisoformat(day) <= end and date.fromisoformat(day) <= ctx.now.date()


def _meta(item: Instrument) -> dict[str, Any]:
    return {
        "symbol": item.symbol,
        "name": item.name,
        "currency": item.currency,
        "exchange": item.exchange,
        "mic_code": item.mic_code,
        "exchange_timezone": item.timezone,
    }


def dividends(ctx: Context) -> Reply:
    def build(item: Instrument, c: Context) -> dict[str, Any]:
        paid = [(d, a) for d, a in c.faults.dividends.get(item.symbol, []) if _between(c, d)]
        items = [{"ex_date": d, "amount": round(a, 6)} for d, a in sorted(paid, reverse=True)]
        return {"meta": _meta(item), "dividends": items}

    return per_symbol(ctx, build, batch_meta=False)


def splits(ctx: Context) -> Reply:
    def build(item: Instrument, c: Context) -> dict[str, Any]:
        done = [(d, r) for d, r in c.faults.splits.get(item.symbol, []) if _between(c, d)]
        items = [
            {
                "date": d,
                "description": f"{r:g}-for-1 split",
                "ratio": round(1 / r, 8),
                "from_factor": r,
                "to_factor": 1,
            }
            for d, r in sorted(done, reverse=True)
        ]
        return {"meta": _meta(item), "splits": items}

    return per_symbol(ctx, build, batch_meta=False)
