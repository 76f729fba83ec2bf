"""Plan a refresh: for each symbol only what is missing, in as few provider calls as the limits allow."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from autoindex.market.providers.sessions import daily_bar_is_final


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    symbols: tuple[str, ...]
    start: date  # inclusive
    end: date  # inclusive
    backfill: bool = False  # whole histories (nothing stored, or splits never read): their splits are read too


@dataclass(frozen=True, slots=True)
class SymbolProgress:
    """How far one symbol's stored history reaches."""

    symbol: str
    last_bar: date | None  # the newest stored bar
    checked_through: date | None  # the newest day the provider was asked about (it may have had no bar)
    splits_unread: bool = False  # a stock or ETF whose splits were never read: its whole history is fetched once


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    through: date  # the newest session whose bar is final
    batches: list[PlannedBatch]


def first_missing(progress: SymbolProgress, *, history_start: date) -> date:
    """The first day a symbol lacks: the day after the later of its newest bar and its last check."""
    known = max((d for d in (progress.last_bar, progress.checked_through) if d is not None), default=None)
    return known + timedelta(days=1) if known else history_start


def subtract_weekdays(day: date, count: int) -> date:
    """The date ``count`` weekdays before ``day`` (``day`` itself rolled back to a weekday)."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    for _ in range(count):
        day -= timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
    return day


def fetch_from(progress: SymbolProgress, *, history_start: date, overlap: int) -> date:
    """Where a symbol's fetch starts: its first missing day, or earlier by ``overlap`` stored bars.

    Asking again for the newest stored bars costs no extra credit (a call is charged per symbol,
    not per bar) and is how a split or a provider revision is noticed.
    """
    start = first_missing(progress, history_start=history_start)
    if progress.last_bar is None or overlap <= 0:
        return start
    return max(history_start, min(start, subtract_weekdays(progress.last_bar, overlap - 1)))


def plan_refresh(
    progress: Iterable[SymbolProgress],
    *,
    now: datetime,
    exchange_timezone: str,
    settle: timedelta,
    history_start: date,
    batch_symbols: int,
    max_bars: int,
    overlap: int = 0,
) -> RefreshPlan:
    """Everything a run must fetch at ``now``: each symbol lacking a day, from its first missing day (less
    ``overlap`` stored bars) to the last final session. A symbol complete through that session costs nothing.
    A symbol with nothing stored, or whose splits were never read, gets its whole history (a backfill batch)."""
    through = last_final_session(now, exchange_timezone, settle=settle)
    whole = {p.symbol for p in progress if (p.last_bar is None and p.checked_through is None) or p.splits_unread}
    next_dates = {
        p.symbol: history_start if p.symbol in whole else fetch_from(p, history_start=history_start, overlap=overlap)
        for p in progress
        if p.symbol in whole or first_missing(p, history_start=history_start) <= through
    }
    batches = plan_batches(next_dates, through=through, batch_symbols=batch_symbols, max_bars=max_bars, backfill=whole)
    return RefreshPlan(through=through, batches=batches)


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
    backfill: Collection[str] = frozenset(),
) -> list[PlannedBatch]:
    """Group symbols that need the same range into batches of at most ``batch_symbols``.

    ``next_dates`` maps each symbol to the first date it lacks. A symbol already complete
    through ``through`` needs nothing and costs nothing. Symbols in ``backfill`` (nothing stored) share
    batches only with each other, every segment of their history marked so.
    """
    by_range: dict[tuple[date, date, bool], list[str]] = defaultdict(list)
    for symbol, first_missing in sorted(next_dates.items()):
        if first_missing > through:
            continue
        for start, end in _segments(first_missing, through, max_bars):
            by_range[(start, end, symbol in backfill)].append(symbol)
    batches = []
    for (start, end, whole), symbols in sorted(by_range.items()):
        for i in range(0, len(symbols), batch_symbols):
            chunk = tuple(symbols[i : i + batch_symbols])
            batches.append(PlannedBatch(symbols=chunk, start=start, end=end, backfill=whole))
    return batches
