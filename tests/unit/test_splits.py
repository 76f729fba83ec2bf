"""Splits: read off the unadjusted and split-adjusted closes of one window, and synchronised without re-stamping."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from autoindex.market.providers.protocol import Bar, Split
from autoindex.market.providers.splits import clean_ratio, derive_splits, tolerance
from autoindex.market.split_sync import split_changes
from hypothesis import given
from hypothesis import strategies as st

START = date(2024, 3, 4)


def _bars(closes: list[float], dp: int = 5) -> list[Bar]:
    out = []
    for i, close in enumerate(closes):
        price = Decimal(f"{close:.{dp}f}")
        out.append(Bar(START + timedelta(days=i), price, price, price, price, 1))
    return out


def _walk(first: float, days: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    closes = [first]
    for _ in range(days - 1):
        closes.append(closes[-1] * (1 + rng.uniform(-0.05, 0.05)))
    return closes


def _as_traded(adjusted: list[float], splits: dict[int, float]) -> list[float]:
    """The unadjusted closes: before a split effective on day ``i`` the stock traded at ``ratio`` times more."""
    out = list(adjusted)
    for i, ratio in splits.items():
        out[:i] = [c * ratio for c in out[:i]]
    return out


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(10.0, (10, 1)), (3.0, (3, 1)), (1.5, (3, 2)), (1.25, (5, 4)), (0.125, (1, 8)), (2 / 3, (2, 3)), (20.0, (20, 1))],
)
def test_clean_ratios_are_recognised_on_their_effective_date(ratio: float, expected: tuple[int, int]) -> None:
    adjusted = _walk(40.0, 30)
    found = derive_splits(_bars(adjusted), _bars(_as_traded(adjusted, {17: ratio})))
    assert found == (Split(START + timedelta(days=17), *expected),)
    assert found[0].ratio == pytest.approx(ratio)


def test_two_splits_in_one_window_are_both_found_oldest_first() -> None:
    adjusted = _walk(12.0, 60)
    found = derive_splits(_bars(adjusted), _bars(_as_traded(adjusted, {8: 2.0, 41: 4.0})))
    assert found == (Split(START + timedelta(days=8), 2, 1), Split(START + timedelta(days=41), 4, 1))


def test_a_penny_stocks_reverse_split_survives_the_closes_rounding() -> None:
    adjusted = _walk(0.9, 20)  # traded at about 0.0036 before a 1-for-250 reverse split
    found = derive_splits(_bars(adjusted), _bars(_as_traded(adjusted, {10: 1 / 250})))
    assert found == (Split(START + timedelta(days=10), 1, 250),)


def test_rounding_noise_is_no_split() -> None:
    rng = random.Random(3)
    adjusted = _walk(1.2, 200)
    jittered = [c * (1 + rng.uniform(-2e-5, 2e-5)) for c in adjusted]
    assert derive_splits(_bars(adjusted), _bars(jittered)) == ()


def test_dividends_are_no_split() -> None:
    # The price drops on the ex-date in both bases (neither folds dividends in): the ratio stays put
    closes = _walk(50.0, 30)
    closes[12:] = [c * 0.97 for c in closes[12:]]
    assert derive_splits(_bars(closes), _bars(closes)) == ()
    # And a basis that did fold a dividend in (a 3 % back-adjustment) is not read as a split either
    assert derive_splits(_bars(closes), _bars([c * 0.97 if i < 12 else c for i, c in enumerate(closes)])) == ()


def test_a_large_step_that_is_not_a_clean_ratio_is_no_split() -> None:
    adjusted = _walk(30.0, 20)
    assert derive_splits(_bars(adjusted), _bars(_as_traded(adjusted, {9: 1.37}))) == ()
    assert clean_ratio(1.37, tolerance(30.0, 30.0, 30.0, 30.0)) is None
    assert clean_ratio(1.05, 1.0) is None  # below the smallest step, whatever the tolerance


def test_days_only_one_basis_has_are_skipped() -> None:
    adjusted = _walk(25.0, 20)
    traded = _bars(_as_traded(adjusted, {10: 3.0}))
    del traded[10]  # the effective day itself is missing from one basis: the step shows on the next common day
    assert derive_splits(_bars(adjusted), traded) == (Split(START + timedelta(days=11), 3, 1),)


@given(
    first=st.floats(0.5, 2000),
    at=st.integers(1, 38),
    ratio=st.sampled_from([(2, 1), (3, 1), (3, 2), (4, 1), (5, 1), (7, 1), (10, 1), (15, 1), (1, 2), (1, 8), (1, 10)]),
    seed=st.integers(0, 10_000),
)
def test_any_clean_split_is_found_exactly_once(first: float, at: int, ratio: tuple[int, int], seed: int) -> None:
    adjusted = _walk(first, 40, seed)
    found = derive_splits(_bars(adjusted), _bars(_as_traded(adjusted, {at: ratio[0] / ratio[1]})))
    assert found == (Split(START + timedelta(days=at), *ratio),)


def test_only_new_or_changed_splits_are_written_and_vanished_ones_deleted() -> None:
    stored = {date(2022, 8, 25): (3, 1), date(2020, 8, 31): (5, 1), date(2019, 1, 2): (2, 1), date(2010, 1, 4): (2, 1)}
    reported = [Split(date(2022, 8, 25), 3, 1), Split(date(2020, 8, 31), 4, 1), Split(date(2024, 6, 10), 10, 1)]
    changes = split_changes(stored, reported, since=date(2018, 1, 2), through=date(2024, 12, 31))
    assert changes.write == [Split(date(2020, 8, 31), 4, 1), Split(date(2024, 6, 10), 10, 1)]
    assert changes.delete == [date(2019, 1, 2)]  # 2010's lies before the window read: kept
    assert split_changes(stored, reported[:1], since=date(2022, 1, 3), through=date(2022, 12, 30)).write == []
