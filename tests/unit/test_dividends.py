"""Dividends: read off two bases of closes, synchronised without re-stamping, and the demo market's payers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from autoindex.market.dividend_sync import dividend_changes
from autoindex.market.providers.demo_actions import demo_dividends
from autoindex.market.providers.dividends import derive_dividends
from autoindex.market.providers.protocol import Bar, Dividend
from hypothesis import given
from hypothesis import strategies as st


def _bars(closes: list[float], start: date = date(2024, 3, 4)) -> list[Bar]:
    out = []
    for i, close in enumerate(closes):
        price = Decimal(f"{close:.5f}")
        out.append(Bar(start + timedelta(days=i), price, price, price, price, 1))
    return out


def _back_adjust(closes: list[float], paid: dict[int, float]) -> list[float]:
    """What a vendor publishes with adjust=all: each close before an ex-date times 1 - d / close(eve)."""
    out = list(closes)
    for ex, amount in paid.items():
        factor = 1 - amount / closes[ex - 1]
        out[:ex] = [c * factor for c in out[:ex]]
    return out


@given(
    first=st.floats(5, 900),
    moves=st.lists(st.floats(-0.3, 0.3), min_size=2, max_size=39),
    paid=st.dictionaries(st.integers(1, 39), st.floats(0.01, 4.0), max_size=4),
)
def test_derived_dividends_are_the_cash_paid_to_the_fourth_decimal(
    first: float, moves: list[float], paid: dict[int, float]
) -> None:
    # Day-to-day moves of at most 30 %: the amount is read at the eve's close from the ratio on the ex-date,
    # whose 5-decimal rounding weighs eve/ex-date times more (a 60-fold one-day jump, which Hypothesis once
    # drew, loses the fourth decimal; no listed security moves so).
    closes = [first]
    for move in moves:
        closes.append(max(closes[-1] * (1 + move), 1.0))
    # Real distributions are 0.1 % of the price or more (a smaller step is indistinguishable from rounding).
    paid = {i: a for i, a in paid.items() if i < len(closes) and 0.001 < a / closes[i - 1] < 0.2}
    split_adjusted = _bars(closes)
    fully = _bars(_back_adjust(closes, paid))
    found = derive_dividends(split_adjusted, fully)
    assert [d.ex_date for d in found] == [split_adjusted[i].date for i in sorted(paid)]
    for dividend, i in zip(found, sorted(paid), strict=True):
        assert float(dividend.amount) == pytest.approx(paid[i], abs=2e-4)


def test_no_dividend_is_read_from_rounding_alone() -> None:
    closes = [1.00001, 1.00002, 0.99999, 1.0, 1.00001]
    assert derive_dividends(_bars(closes), _bars([c * 0.999995 for c in closes])) == ()


def test_only_new_or_moved_dividends_are_written_and_vanished_ones_deleted() -> None:
    stored = {date(2024, 3, 1): Decimal("0.2800"), date(2024, 4, 1): Decimal("0.2900"), date(2024, 2, 1): Decimal("1")}
    reported = [
        Dividend(date(2024, 3, 1), Decimal("0.28")),  # the same: not written again
        Dividend(date(2024, 5, 1), Decimal("0.31")),  # new
        Dividend(date(2024, 1, 2), Decimal("9")),  # outside the range the answer covers
    ]
    changes = dividend_changes(stored, reported, since=date(2024, 2, 15), through=date(2024, 5, 31))
    assert changes.write == [Dividend(date(2024, 5, 1), Decimal("0.31"))]
    assert changes.delete == [date(2024, 4, 1)]  # 2024-02-01 lies before the range: kept


def test_the_demo_bond_funds_pay_monthly_on_the_first_trading_day() -> None:
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(120)]
    days = [d for d in days if d.weekday() < 5]
    closes = [90.0] * len(days)
    paid = demo_dividends("TLT", days, closes)
    assert [d.ex_date for d in paid] == [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]
    assert all(d.amount == Decimal("0.2700") for d in paid)  # 3.6 % a year on 90, monthly
    quarterly = demo_dividends("AAPL", days, closes)
    assert [d.ex_date for d in quarterly] == [date(2024, 2, 12)]  # first trading day from the 10th
    assert demo_dividends("GLD", days, closes) == ()
