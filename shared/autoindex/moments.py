"""Bounds on the moments a client sends (query parameters, cursors): aware, and far from datetime's edges.

Python's datetime stops at years 1 and 9999, so converting ``0001-01-01T00:00:00+14:00`` to UTC raises
OverflowError (a 500), and PostgreSQL's timestamptz has edges of its own. No stored moment is outside
1900..9998, so anything there is refused as a client error before it reaches arithmetic or a query.
"""

from __future__ import annotations

from datetime import UTC, datetime

MIN_YEAR, MAX_YEAR = 1900, 9998


def bounded_moment(value: datetime) -> datetime:
    """``value`` unchanged when it carries an offset and lies within MIN_YEAR..MAX_YEAR in UTC; else ValueError."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a timezone offset (e.g. 2026-01-01T00:00:00Z)")
    # Checking the wall-clock year first keeps the UTC conversion a day away from datetime's edges.
    if not MIN_YEAR <= value.year <= MAX_YEAR or not MIN_YEAR <= value.astimezone(UTC).year <= MAX_YEAR:
        raise ValueError(f"must lie between the years {MIN_YEAR} and {MAX_YEAR} (UTC)")
    return value


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment with an offset, bounded by :func:`bounded_moment`; ValueError for anything else."""
    if not text.isascii():
        raise ValueError("must be ASCII ISO 8601 text")
    return bounded_moment(datetime.fromisoformat(text))
