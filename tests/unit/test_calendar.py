"""The NYSE calendar rules against the ``holidays`` package's NYSE calendar (an independent implementation)."""

from __future__ import annotations

from datetime import date

import holidays as reference
import pytest
from autoindex.market.calendar import SPECIAL_CLOSURES, easter, holidays, is_trading_day, trading_days


@pytest.mark.parametrize("year", range(2000, 2036))
def test_full_day_closures_match_the_reference_calendar(year: int) -> None:
    theirs = {d for d in reference.financial_holidays("NYSE", years=year) if d.weekday() < 5}
    assert holidays(year) == theirs, sorted(holidays(year) ^ theirs)


def test_the_rules_the_issue_names() -> None:
    assert not is_trading_day(date(2024, 1, 1)) and not is_trading_day(date(2024, 11, 28))  # New Year, Thanksgiving
    assert not is_trading_day(date(2024, 3, 29))  # Good Friday
    assert not is_trading_day(date(2024, 6, 19)) and is_trading_day(date(2021, 6, 18))  # Juneteenth from 2022
    assert not is_trading_day(date(2021, 12, 24))  # Christmas on a Saturday closes the Friday before
    assert is_trading_day(date(2021, 12, 31))  # ... but a Saturday New Year's Day does not
    assert not is_trading_day(date(2023, 1, 2))  # a Sunday New Year's Day closes the Monday after
    assert (
        not is_trading_day(date(2012, 10, 29))
        and {d for y in range(2000, 2026) for d in holidays(y)} >= SPECIAL_CLOSURES
    )
    assert easter(2024) == date(2024, 3, 31) and easter(2025) == date(2025, 4, 20)


def test_trading_days_skip_weekends_and_holidays() -> None:
    days = trading_days(date(2024, 12, 20), date(2025, 1, 3))
    assert date(2024, 12, 25) not in days and date(2025, 1, 1) not in days
    assert len(days) == 9 and all(d.weekday() < 5 for d in days)
