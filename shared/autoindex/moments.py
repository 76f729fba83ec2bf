"""Bounds on the moments and dates a client sends (query parameters, bodies, cursors): far from datetime's edges.

Python's datetime stops at years 1 and 9999, so converting ``0001-01-01T00:00:00+14:00`` to UTC raises
OverflowError (a 500), ``9999-12-31`` plus a day overflows too, and PostgreSQL's timestamptz has edges of its
own. No stored moment or close is outside 1900..9998, so anything there is refused as a client error before
it reaches arithmetic, a query or a queued job (a backtest ending in year 1 could only fail later).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

MIN_YEAR, MAX_YEAR = 1900, 9998


def bounded_moment(value: datetime) -> datetime:
    """``value`` unchanged when it carries an offset and lies within MIN_YEAR..MAX_YEAR in UTC; else ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a timezone offset (e.g. 2026-01-01T00:00:00Z)")
    # Checking the wall-clock year first keeps the UTC conversion a day away from datetime's edges.
    if not MIN_YEAR <= value.year <= MAX_YEAR or not MIN_YEAR <= value.astimezone(UTC).year <= MAX_YEAR:
        raise ValueError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR} (UTC)")
    return value


def bounded_day(value: date) -> date:
    """``value`` unchanged when its year lies within MIN_YEAR..MAX_YEAR; else ValueError."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment with an offset, bounded by :func:`bounded_moment`; ValueError for anything else."""
    if not text.isascii():
        raise ValueError("must be ASCII ISO 8601 text")
    return bounded_moment(datetime.fromisoformat(text))
