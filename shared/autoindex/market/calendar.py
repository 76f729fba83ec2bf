"""The NYSE trading calendar as rules: which weekdays the exchange is closed. Pure, no data files.

Full-day closures since 2000 (NYSE Rule 7.2 and its predecessors):

- New Year's Day, 1 January: a Sunday moves it to Monday; a Saturday is not observed (the exchange
  does not close on the last trading day of the year).
- Martin Luther King Jr. Day, the third Monday of January (closed since 1998).
- Washington's Birthday, the third Monday of February.
- Good Friday, two days before Western Easter (the exchange's own holiday, not a federal one).
- Memorial Day, the last Monday of May.
- Juneteenth, 19 June, from 2022; Independence Day, 4 July; Christmas, 25 December: a Saturday moves
  them to the Friday before, a Sunday to the Monday after.
- Labor Day, the first Monday of September; Thanksgiving, the fourth Thursday of November.
- One-off closures: 11-14 September 2001, the funerals of Presidents Reagan (2004-06-11), Ford
  (2007-01-02), Bush (2018-12-05) and Carter (2025-01-09), and Hurricane Sandy (2012-10-29 and 30).

Early closes (13:00) are trading days and not modelled. The rules are checked against the ``holidays``
package's NYSE calendar in the tests only (``tests/unit/test_calendar.py``).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

SPECIAL_CLOSURES = frozenset(
    {
        date(2001, 9, 11),
        date(2001, 9, 12),
        date(2001, 9, 13),
        date(2001, 9, 14),
        date(2004, 6, 11),
        date(2007, 1, 2),
        date(2012, 10, 29),
        date(2012, 10, 30),
        date(2018, 12, 5),
        date(2025, 1, 9),
    }
)


def easter(year: int) -> date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0) of a month; ``n = -1`` for the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """Saturday to the Friday before, Sunday to the Monday after."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@functools.cache
def holidays(year: int) -> frozenset[date]:
    """The weekdays of ``year`` on which the NYSE is closed all day."""
    new_year = date(year, 1, 1)
    out = {
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        easter(year) - timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    if new_year.weekday() != 5:  # a Saturday New Year is not moved back into the old year
        out.add(_observed(new_year))
    if year >= 1998:
        out.add(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    if year >= 2022:
        out.add(_observed(date(year, 6, 19)))  # Juneteenth
    out.update(d for d in SPECIAL_CLOSURES if d.year == year)
    return frozenset(d for d in out if d.weekday() < 5)


def is_trading_day(day: date) -> bool:
    """Whether the NYSE trades on ``day`` (a weekday that is not a holiday or a special closure)."""
    return day.weekday() < 5 and day not in holidays(day.year)


def trading_days(start: date, end: date) -> list[date]:
    """The NYSE trading days of ``[start, end]``, oldest first."""
    out = []
    day = start
    while day <= end:
        if is_trading_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out
