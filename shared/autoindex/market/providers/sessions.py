"""Time as the providers see it: an injectable clock, UTC day and minute boundaries, finished daily bars.

A daily bar is dated in the exchange's local calendar (UTC days for FX and crypto). The bar of
the exchange-local current date is still forming until that market has closed, so it is held
back; it is fetched again, final, by the next refresh.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]

# Regular-session close by exchange timezone. An exchange not listed here is treated as open all
# day: its current-date bar is held back until the next local date, which is always safe.
SESSION_CLOSE: dict[str, time] = {
    "America/New_York": time(16, 0),
    "America/Chicago": time(15, 0),
    "America/Toronto": time(16, 0),
    "Europe/London": time(16, 30),
    "Europe/Berlin": time(17, 30),
    "Europe/Paris": time(17, 30),
    "Europe/Amsterdam": time(17, 30),
    "Europe/Madrid": time(17, 30),
    "Europe/Zurich": time(17, 30),
    "Asia/Tokyo": time(15, 30),
    "Asia/Hong_Kong": time(16, 0),
    "Asia/Shanghai": time(15, 0),
    "Australia/Sydney": time(16, 0),
}

# Local time spans UTC-12 to UTC+14; without tz data, a bar dated on or after the UTC date
# twelve hours ago may still be forming somewhere.
_WESTMOST_OFFSET = timedelta(hours=12)


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def next_utc_midnight(now: datetime) -> datetime:
    """When the provider's daily credits reset: the next 00:00 UTC after ``now``."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC)


def seconds_to_next_minute(now: datetime) -> float:
    """Seconds from ``now`` to the next whole UTC minute (in (0, 60])."""
    now = now.astimezone(UTC)
    into = now.second + now.microsecond / 1_000_000
    return 60.0 - into


@functools.cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def daily_bar_is_final(
    bar_date: date, exchange_timezone: str | None, now: datetime, *, settle: timedelta = timedelta(minutes=30)
) -> bool:
    """Whether the daily bar dated ``bar_date`` can no longer change.

    Parameters
    ----------
    bar_date
        The bar's date in the exchange's calendar.
    exchange_timezone
        The IANA zone of the exchange; None for FX and crypto, whose daily bars are UTC days.
    now
        The current time (timezone-aware).
    settle
        How long after the close a bar is still considered in flux (closing auctions, late prints).

    Returns
    -------
    bool
        False for the exchange-local current date before close + settle, and for any later date.
    """
    if exchange_timezone is None:
        return bar_date < now.astimezone(UTC).date()
    zone = _zone(exchange_timezone)
    if zone is None:
        return bar_date < (now.astimezone(UTC) - _WESTMOST_OFFSET).date()
    local = now.astimezone(zone)
    if bar_date != local.date():
        return bar_date < local.date()
    close = SESSION_CLOSE.get(exchange_timezone)
    if close is None:
        return False
    return local.replace(tzinfo=None) >= datetime.combine(bar_date, close) + settle
