"""The demo market's corporate actions and revisions, so ``make run`` goes through every path real data takes.

- Dividends, deterministic like the prices: an ex-date is a rule on the calendar (monthly payers go ex
  on the first trading day of each month, quarterly payers on the first trading day from the 10th of
  their months) and the amount is the annual yield over the payments a year, times the close before
  the ex-date, to four decimals. Bond funds (TLT, IEF) pay monthly, as their coupons do.
- A split: NVDA 10-for-1 effective 2024-06-10. History is split-adjusted once the day has come; asked
  before it, the older bars show the ten-times-higher prices the stock traded at.
- A weekly provider revision: MSFT's Friday bar, while it is the newest one, comes with a preliminary
  close 0.2 % high, corrected once a later session exists; the refresh overlap catches it every week.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from autoindex.market.calendar import is_trading_day
from autoindex.market.providers.protocol import Bar, Dividend

SPLITS: dict[str, tuple[date, int]] = {"NVDA": (date(2024, 6, 10), 10)}
REVISED = "MSFT"
_PRELIMINARY = Decimal("1.002")


@dataclass(frozen=True, slots=True)
class Payer:
    annual_yield: float
    months: tuple[int, ...]  # the months with an ex-date

    @property
    def per_year(self) -> int:
        return len(self.months)


_MONTHLY = tuple(range(1, 13))
_QUARTERLY = (2, 5, 8, 11)
PAYERS: dict[str, Payer] = {
    "TLT": Payer(0.036, _MONTHLY),
    "IEF": Payer(0.031, _MONTHLY),
    "SPY": Payer(0.014, (3, 6, 9, 12)),
    "AAPL": Payer(0.005, _QUARTERLY),
    "MSFT": Payer(0.008, _QUARTERLY),
    "NVDA": Payer(0.0003, (3, 6, 9, 12)),
}
_PLACES = Decimal("0.0001")


def _ex_dates(days: Sequence[date], payer: Payer) -> set[date]:
    """The first of ``days`` in each paying month on or after its rule's day (1st for monthly, 10th else)."""
    first_day = 1 if payer.per_year == 12 else 10
    out: dict[tuple[int, int], date] = {}
    for day in days:
        month = (day.year, day.month)
        if day.month in payer.months and day.day >= first_day and month not in out:
            out[month] = day
    return set(out.values())


def demo_dividends(symbol: str, days: Sequence[date], closes: Sequence[float]) -> tuple[Dividend, ...]:
    """Distributions on ``days`` (trading days, oldest first, with their closes) after the first of them."""
    payer = PAYERS.get(symbol)
    if payer is None or len(days) < 2:
        return ()
    ex_dates = _ex_dates(days, payer)
    out = []
    for i in range(1, len(days)):
        if days[i] in ex_dates:
            amount = Decimal(repr(closes[i - 1] * payer.annual_yield / payer.per_year)).quantize(_PLACES)
            if amount > 0:
                out.append(Dividend(ex_date=days[i], amount=amount))
    return tuple(out)


def split_basis(symbol: str, bars: Sequence[Bar], today: date) -> tuple[Bar, ...]:
    """The bars as served on ``today``: before a split that has not happened yet, at the pre-split prices."""
    split = SPLITS.get(symbol)
    if split is None or today >= split[0]:
        return tuple(bars)
    return _scaled(bars, *split)


def as_traded(symbol: str, bars: Sequence[Bar], today: date) -> tuple[Bar, ...]:
    """The bars served on ``today`` without split adjustment (the provider's ``adjust=none``)."""
    split = SPLITS.get(symbol)
    if split is None or today < split[0]:  # not split yet: served as traded already
        return tuple(bars)
    return _scaled(bars, *split)


def _scaled(bars: Sequence[Bar], day: date, ratio: int) -> tuple[Bar, ...]:
    """The bars before ``day`` at ``ratio`` times their split-adjusted prices, as they traded."""
    return tuple(
        Bar(
            b.date,
            b.open * ratio,
            b.high * ratio,
            b.low * ratio,
            b.close * ratio,
            None if b.volume is None else b.volume // ratio,
        )
        if b.date < day
        else b
        for b in bars
    )


def _last_session_before(today: date) -> date:
    day = today - timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def preliminary(symbol: str, bars: Sequence[Bar], today: date) -> tuple[Bar, ...]:
    """MSFT's newest bar, when it is a Friday's, with its preliminary close (revised on the next session)."""
    if symbol != REVISED or not bars:
        return tuple(bars)
    newest = _last_session_before(today)
    out = []
    for b in bars:
        if b.date == newest and b.date.weekday() == 4:
            close = (b.close * _PRELIMINARY).quantize(b.close)
            out.append(Bar(b.date, b.open, max(b.high, close), b.low, close, b.volume))
        else:
            out.append(b)
    return tuple(out)
