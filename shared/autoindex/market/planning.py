"""Plan a refresh: for each symbol only what is missing, in as few provider calls as the limits allow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from autoindex.market.providers.sessions import daily_bar_is_final


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    symbols: tuple[str, ...]
    start: date  # inclusive
    end: date  # inclusive


def last_final_session(now: datetime, exchange_timezone: str, *, settle: timedelta) -> date:
    """The newest weekday whose daily bar can no longer change at ``now``."""
    day = now.astimezone(ZoneInfo(exchange_timezone)).date()
    while day.weekday() >= 5 or not daily_bar_is_final(day, exchange_timezone, now, settle=settle):
        day -= timedelta(days=1)
    return day


def add_weekdays(start: date, count: int) -> date:
    """The date ``count`` weekdays after ``start`` (``start`` itself rolled forward to a weekday)."""
    day = start
    while day.weekday() >= 5:
        day += timedelta(days=1)
    weeks, extra = divmod(count, 5)
    day += timedelta(weeks=weeks)
    for _ in range(extra):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def _segments(start: date, end: date, max_bars: int) -> list[tuple[date, date]]:
    """Split [start, end] so that no piece holds more than ``max_bars`` weekdays (one call each)."""
    pieces = []
    cursor = start
    while cursor <= end:
        # The max_bars-th weekday from cursor is the last day this call may cover.
        piece_end = min(end, add_weekdays(cursor, max_bars - 1))
        pieces.append((cursor, piece_end))
        cursor = piece_end + timedelta(days=1)
    return pieces


def plan_batches(
    next_dates: Mapping[str, date],
    *,
    through: date,
    batch_symbols: int,
    max_bars: int,
) -> list[PlannedBatch]:
    """Group symbols that need the same range into batches of at most ``batch_symbols``.

    ``next_dates`` maps each symbol to the first date it lacks. A symbol already complete
    through ``through`` needs nothing and costs nothing.
    """
    by_range: dict[tuple[date, date], list[str]] = defaultdict(list)
    for symbol, first_missing in sorted(next_dates.items()):
        if first_missing > through:
            continue
        for piece in _segments(first_missing, through, max_bars):
            by_range[piece].append(symbol)
    batches = []
    for (start, end), symbols in sorted(by_range.items()):
        for i in range(0, len(symbols), batch_symbols):
            batches.append(PlannedBatch(symbols=tuple(symbols[i : i + batch_symbols]), start=start, end=end))
    return batches
