"""Read a payer's incremental refresh off one ``adjust=all`` call, checked against what is stored.

The two-call path (``providers/dividends.py``) asks for the split-adjusted and the fully adjusted closes
of the same window and reads the dividends off their ratio. On an incremental refresh the split-adjusted
closes of the overlap are already stored, so the fully adjusted answer alone can be decoded against them.
A provider back-adjusting for dividends multiplies each close by the factor ``1 - d / close(e-1)`` of every
ex-date ``e`` after it, so for each overlap bar ``all / stored = F * g``: ``F`` the factor of the stored
(known) dividends after that bar, and ``g`` the factor of whatever new ex-date came after the overlap,
common to every overlap bar.

- ``g = 1``: no new dividend; no ex-date follows any new bar, so each new bar's split-adjusted values are
  its fully adjusted ones.
- ``g < 1`` with exactly one new bar that no ex-date can follow yet: a new dividend on that bar, read by
  the two-call path's formula (``d = close(e-1) * (1 - ratio(e-1) / ratio(e))`` with ``ratio(e) = 1``).

Anything else is :class:`Undecided`, and the caller asks for the split-adjusted closes as well: the overlap
moved unevenly (a revision), a known dividend no longer reads as stored, ``g`` rose or fell further than a
distribution does (a split or a re-basing), ``g < 1`` over several new bars (which was the ex-date?), the
volumes moved like a split's, an ex-date may already follow the newest bar (a run before the session), or
the closes are too coarse to see a move the revision check (``REVISION_TOLERANCE``) would see. Exact or
nothing: the cheap path stores what the two-call path would have stored. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from autoindex.market.providers.dividends import AMOUNT_PLACES, derive_dividends
from autoindex.market.providers.protocol import Bar, Dividend

#: Below this ``g`` the overlap fell too far for a distribution: a split (4-for-3 or more) or a re-basing.
MIN_FACTOR = 0.75
#: A known dividend read again within this of its stored amount is unchanged: the rule
#: ``market/dividend_sync.py`` (``SAME_AMOUNT``) applies on the two-call path, kept equal by a test.
SAME_AMOUNT = AMOUNT_PLACES


@dataclass(frozen=True, slots=True)
class StoredWindow:
    """What is stored of one symbol inside a refresh's window (the overlap)."""

    closes: Mapping[date, Decimal]  # split-adjusted closes of the stored bars
    volumes: Mapping[date, int | None]
    dividends: Mapping[date, Decimal]  # cash per share by ex-date


@dataclass(frozen=True, slots=True)
class Decoded:
    """The window read from the fully adjusted answer alone."""

    bars: tuple[Bar, ...]  # the new bars (after the last stored one), split-adjusted
    dividends: tuple[Dividend, ...]  # at most one: on the single new bar
    since: date  # the day after the last stored bar: the dividends are complete from here
    factor: float  # g


@dataclass(frozen=True, slots=True)
class Undecided:
    """The answer alone cannot say what the two-call path would store."""

    reason: str


def _quantum(value: Decimal) -> float:
    exponent = value.as_tuple().exponent
    return 10.0**exponent if isinstance(exponent, int) else math.inf


def _ratio(answered: Decimal, stored: Decimal) -> tuple[float, float]:
    """``answered / stored`` and its relative error: half a unit of the answer's last decimal on each close.

    The stored close came from the same provider with the same decimals, but NUMERIC(20,8) hides how many.
    """
    q = _quantum(answered)
    return float(answered) / float(stored), q / (2 * float(answered)) + q / (2 * float(stored))


def _common(ratios: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The interval every ``(ratio, relative error)`` allows; None when they do not all meet."""
    lo = max(r * (1 - u) for r, u in ratios)
    hi = min(r * (1 + u) for r, u in ratios)
    return (lo, hi) if lo <= hi else None


def _segments(days: Sequence[date], cuts: Sequence[date]) -> list[list[date]]:
    """The stored days cut at the known ex-dates: one dividend factor per segment."""
    out: list[list[date]] = [[]]
    for day in days:
        if day in cuts and out[-1]:
            out.append([])
        out[-1].append(day)
    return out


def _no_ex_date_can_follow(day: date, today: date | None) -> bool:
    """No weekday lies after ``day`` up to the provider's ``today``: no ex-date can have come since that bar."""
    if today is None:
        return False
    cursor = day + timedelta(days=1)
    while cursor <= today:
        if cursor.weekday() < 5:
            return False
        cursor += timedelta(days=1)
    return True


def _split_like_volumes(stored: StoredWindow, answered: Mapping[date, Bar], days: Sequence[date], g: float) -> bool:
    """A split scales the volumes by ``1/g`` as it scales the prices by ``g``; a distribution leaves them alone."""
    half = (1.0 / g - 1.0) / 2
    for day in days:
        old, new = stored.volumes.get(day), answered[day].volume
        if old and new is not None and abs(new / old - 1.0) > half:
            return True
    return False


def _as_bar(day: date, close: Decimal) -> Bar:
    return Bar(day, close, close, close, close, None)


def _read_again(stored: StoredWindow, answered: Mapping[date, Bar], eve: date, ex_date: date) -> Decimal:
    """A known dividend read off the stored closes and the answer, exactly as the two-call path reads it."""
    split = [_as_bar(eve, stored.closes[eve]), _as_bar(ex_date, stored.closes[ex_date])]
    found = derive_dividends(split, [answered[eve], answered[ex_date]])
    return found[0].amount if found else Decimal(0)


class _Fallback(Exception):
    """The reason the answer alone cannot be decoded (raised inside, returned as :class:`Undecided`)."""


def _overlap(stored: StoredWindow, answered: Mapping[date, Bar]) -> tuple[list[date], list[date]]:
    """The stored days and the known ex-dates among them, when the answer covers exactly those days."""
    days = sorted(stored.closes)
    if not days:
        raise _Fallback("nothing stored in the window to compare with")
    missing = [day for day in days if day not in answered]
    if missing:
        raise _Fallback(f"the stored bar of {missing[0]} is not in the answer")
    appeared = sorted(day for day in answered if day < days[-1] and day not in stored.closes)
    if appeared:
        raise _Fallback(f"a bar on {appeared[0]} appeared inside the stored history")
    cuts = sorted(day for day in stored.dividends if day > days[0])
    if any(day not in stored.closes for day in cuts):
        raise _Fallback("a stored ex-date has no stored bar")
    return days, cuts


def _newest_factor(
    stored: StoredWindow, answered: Mapping[date, Bar], days: list[date], cuts: list[date], tolerance: float
) -> tuple[float, float]:
    """The interval ``g`` lies in, after checking every overlap bar and every known dividend; (1, 1) exactly."""
    ratios = {day: _ratio(answered[day].close, stored.closes[day]) for day in days}
    spans: list[tuple[float, float]] = []
    for segment in _segments(days, cuts):
        span = _common([ratios[day] for day in segment])
        if span is None:
            raise _Fallback(f"the overlap moved unevenly from {segment[0]}: a revision")
        spans.append(span)
    for ex_date in cuts:
        amount = _read_again(stored, answered, days[days.index(ex_date) - 1], ex_date)
        if abs(amount - stored.dividends[ex_date]) > SAME_AMOUNT:
            raise _Fallback(f"the dividend of {ex_date} reads {amount}, stored {stored.dividends[ex_date]}")
    newest = [day for day in days if not cuts or day >= cuts[-1]]
    # After the last known ex-date, unchanged closes come back digit for digit; anywhere else the check is
    # only as fine as the rounding, which must not hide a move the revision check would catch.
    exact = all(answered[day].close == stored.closes[day] for day in newest)
    by_rounding = [day for day in days if not (exact and day in newest)]
    if any(2 * ratios[day][1] > tolerance for day in by_rounding):
        raise _Fallback(f"the closes are too coarse to see a move beyond {tolerance:g}")
    return (1.0, 1.0) if exact else spans[-1]


def _new_dividend(
    stored: StoredWindow,
    answered: Mapping[date, Bar],
    days: list[date],
    new: tuple[Bar, ...],
    *,
    g: float,
    today: date | None,
) -> tuple[Dividend, ...]:
    """The one new dividend a factor ``g < 1`` means, when nothing else can explain it."""
    if g < MIN_FACTOR:
        raise _Fallback(f"the overlap fell by a factor {g:.6f}: a split or a re-basing")
    if len(new) != 1:
        raise _Fallback(f"a factor {g:.6f} over {len(new)} new bars: the ex-date is not known")
    (bar,) = new
    if not _no_ex_date_can_follow(bar.date, today):
        raise _Fallback(f"an ex-date may already follow the newest bar ({bar.date}; provider's today {today})")
    if _split_like_volumes(stored, answered, days, g):
        raise _Fallback(f"a factor {g:.6f} with the volumes scaled like a split's")
    last = days[-1]
    found = derive_dividends([_as_bar(last, stored.closes[last]), _as_bar(bar.date, bar.close)], [answered[last], bar])
    if not found:
        raise _Fallback(f"a factor {g:.6f} is too close to 1 to tell a distribution from a revision")
    return found


def decode(
    stored: StoredWindow, answered: Sequence[Bar], *, tolerance: float, today: date | None
) -> Decoded | Undecided:
    """Decode one symbol's fully adjusted bars of a window against its stored overlap.

    Parameters
    ----------
    stored
        The stored bars and dividends inside the window (at least one bar: an incremental refresh).
    answered
        The provider's ``adjust=all`` bars of the window.
    tolerance
        ``REVISION_TOLERANCE``: a close that moved by more is a revision, which must not go unseen here.
    today
        The provider's current date in the exchange's time zone; None when unknown.
    """
    by_day = {bar.date: bar for bar in answered}
    try:
        days, cuts = _overlap(stored, by_day)
        lo, hi = _newest_factor(stored, by_day, days, cuts, tolerance)
        new = tuple(sorted((bar for bar in answered if bar.date > days[-1]), key=lambda bar: bar.date))
        since = days[-1] + timedelta(days=1)
        if lo <= 1.0 <= hi:
            return Decoded(bars=new, dividends=(), since=since, factor=1.0)
        g = (lo + hi) / 2
        if lo > 1.0:
            raise _Fallback(f"the overlap rose by a factor {g:.6f}: a re-basing, not a distribution")
        return Decoded(
            bars=new, dividends=_new_dividend(stored, by_day, days, new, g=g, today=today), since=since, factor=g
        )
    except _Fallback as exc:
        return Undecided(str(exc))
