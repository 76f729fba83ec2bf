"""The fake's market: deterministic bars per instrument (the demo generator), sessions, today's partial bar.

Like the real API, the bar of the exchange-local current date appears as soon as that session
opens and keeps changing until the close; FX days are UTC days.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from autoindex.market.providers.catalog import Instrument
from autoindex.market.providers.sessions import SESSION_CLOSE
from autoindex.market.providers.synthetic import daily_series

SESSION_OPEN = time(9, 30)
DEFAULT_CLOSE = time(16, 0)

CURRENCY_NAMES: dict[str, str] = {
    "USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound", "JPY": "Japanese Yen", "CHF": "Swiss Franc",
    "CAD": "Canadian Dollar", "AUD": "Australian Dollar", "NZD": "New Zealand Dollar", "SEK": "Swedish Krona",
    "NOK": "Norwegian Krone", "DKK": "Danish Krone", "PLN": "Polish Zloty", "CZK": "Czech Koruna",
    "HUF": "Hungarian Forint", "CNY": "Chinese Yuan Renminbi", "HKD": "Hong Kong Dollar",
    "SGD": "Singapore Dollar", "KRW": "South Korean Won", "INR": "Indian Rupee", "BRL": "Brazilian Real",
    "MXN": "Mexican Peso", "ZAR": "South African Rand",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One bar as floats (``volume`` None for FX); formatted to strings only on the way out."""

    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int | None


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_now(item: Instrument, now: datetime) -> datetime:
    """``now`` in the instrument's exchange time (UTC for FX)."""
    return now.astimezone(_zone(item.timezone) if item.timezone else UTC)


def session_progress(item: Instrument, now: datetime) -> float | None:
    """How much of today's session has passed (1.0 after the close); None before the open or at the weekend."""
    local = local_now(item, now)
    if local.weekday() >= 5:
        return None
    if item.timezone is None:  # FX: the UTC day is the session
        midnight = datetime.combine(local.date(), time(0), tzinfo=UTC)
        return max((local - midnight).total_seconds() / 86_400, 1e-6)
    opened = datetime.combine(local.date(), SESSION_OPEN)
    closed = datetime.combine(local.date(), SESSION_CLOSE.get(item.timezone, DEFAULT_CLOSE))
    wall = local.replace(tzinfo=None)
    if wall < opened:
        return None
    return min((wall - opened) / (closed - opened), 1.0)


def last_bar_day(item: Instrument, now: datetime) -> date:
    """The newest date with a bar: today once the session has opened, else the last business day before."""
    today = local_now(item, now).date()
    if session_progress(item, now) is not None:
        return today
    return date.fromisoformat(str(np.busday_offset(np.datetime64(today, "D"), -1, roll="forward")))


def _partial(row: Row, progress: float) -> Row:
    # A forming bar: close has travelled part of the way, the extremes and the volume part of theirs.
    close = row.open + (row.close - row.open) * progress
    high = max(row.open, close) + (row.high - max(row.open, row.close)) * progress
    low = min(row.open, close) - (min(row.open, row.close) - row.low) * progress
    volume = None if row.volume is None else int(row.volume * progress)
    return replace(row, close=close, high=high, low=low, volume=volume)


def bars(item: Instrument, start: date, end: date, now: datetime) -> list[Row]:
    """Bars on the business days of ``[start, end]``, oldest first; today's bar is the forming one."""
    last = last_bar_day(item, now)
    end = min(end, last)
    if end < start:
        return []
    series = daily_series(item.symbol, start, end, first_date=item.first_date)
    volumes = series.volume.tolist() if series.volume is not None else [None] * len(series.dates)
    rows = [
        Row(d, o, h, low, c, v)
        for d, o, h, low, c, v in zip(
            series.dates,
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            volumes,
            strict=True,
        )
    ]
    progress = session_progress(item, now)
    if rows and rows[-1].day == last and progress is not None and progress < 1.0:
        rows[-1] = _partial(rows[-1], progress)
    return rows


def corrupt(row: Row, kind: str) -> dict[str, str | None]:
    """Overrides that make a row invalid in the named way (the ``bad_bars`` fault)."""
    if kind == "non_positive":
        return {"close": "0.00000"}
    if kind == "high_below_low":
        return {"high": f"{row.low:.5f}", "low": f"{row.high:.5f}"}
    if kind == "close_above_high":
        return {"close": f"{row.high * 1.1:.5f}"}
    if kind == "open_below_low":
        return {"open": f"{row.low * 0.9:.5f}"}
    if kind == "not_a_number":
        return {"close": "N/A"}
    return {"volume": "-100"}  # negative_volume


def epoch(day: date, item: Instrument) -> int:
    """Unix time of the session open of ``day`` (midnight UTC for FX)."""
    if item.timezone is None:
        return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())
    return int(datetime.combine(day, SESSION_OPEN, tzinfo=_zone(item.timezone)).timestamp())


def one_year_back(day: date) -> date:
    return day - timedelta(days=365)
