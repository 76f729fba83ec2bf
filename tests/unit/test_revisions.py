"""A revision is a re-fetched close that moved: found at its oldest date, with the factor, and nothing else is."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from autoindex.market.batch_results import PriceRow
from autoindex.market.planning import SymbolProgress, fetch_from, first_missing, subtract_weekdays
from autoindex.market.providers.protocol import Bar, Split
from autoindex.market.revisions import Revision, detect_revision, explained_by, first_change, without_unchanged
from hypothesis import given
from hypothesis import strategies as st

DAYS = [date(2024, 6, 3) + timedelta(days=i) for i in range(5)]  # Monday to Friday


def _bar(day: date, close: str) -> Bar:
    c = Decimal(close)
    return Bar(date=day, open=c, high=c, low=c, close=c, volume=1)


def _row(asset_id: int, day: date, close: str) -> PriceRow:
    c = Decimal(close)
    return PriceRow(asset_id, day, c, c, c, c, 1)


def test_a_ten_for_one_split_is_found_at_the_oldest_moved_close() -> None:
    stored = {d: Decimal("1200.00") for d in DAYS[:3]}
    bars = [_bar(d, "120.00") for d in DAYS[:3]] + [_bar(DAYS[3], "121.50")]
    found = detect_revision("NVDA", stored, bars, tolerance=1e-6)
    assert found is not None and (found.first_changed, found.factor) == (DAYS[0], 10.0)
    assert found.as_record() == {"symbol": "NVDA", "first_changed": "2024-06-03", "factor": 10.0, "split": None}


def test_a_new_split_whose_ratio_is_the_factor_explains_the_revision() -> None:
    older, newer = Split(date(2021, 7, 20), 4, 1), Split(date(2024, 6, 10), 10, 1)
    assert explained_by(10.004, [older, newer]) == newer
    assert explained_by(1.002, [older, newer]) is None  # a provider's correction, not a split
    assert explained_by(0.125, [Split(date(2024, 6, 10), 1, 8)]) == Split(date(2024, 6, 10), 1, 8)
    record = Revision("NVDA", date(2024, 6, 3), 10.0, newer).as_record()
    assert record["split"] == {"date": "2024-06-10", "ratio": 10.0}


def test_equal_or_rounding_level_closes_are_no_revision() -> None:
    stored = {DAYS[0]: Decimal("101.23456789"), DAYS[1]: Decimal("100")}
    bars = [_bar(DAYS[0], "101.234568"), _bar(DAYS[1], "100.0000"), _bar(DAYS[2], "99")]  # DAYS[2] is new
    assert detect_revision("X", stored, bars, tolerance=1e-6) is None
    assert detect_revision("X", {}, bars, tolerance=1e-6) is None  # nothing stored: nothing to compare


def test_a_provider_revision_of_one_day_is_found_with_its_own_factor() -> None:
    stored = {d: Decimal("50") for d in DAYS[:4]}
    bars = [_bar(d, "50") for d in DAYS[:4]]
    bars[2] = _bar(DAYS[2], "40")
    found = detect_revision("X", stored, bars, tolerance=1e-6)
    assert found is not None and (found.first_changed, found.factor) == (DAYS[2], 1.25)


def test_a_full_refetch_reports_the_oldest_change_even_a_vanished_day() -> None:
    stored = {DAYS[0]: Decimal("10"), DAYS[1]: Decimal("10"), DAYS[2]: Decimal("10")}
    assert first_change(stored, [_row(1, d, "10") for d in DAYS[:3]], tolerance=1e-6) is None
    assert first_change(stored, [_row(1, DAYS[1], "10"), _row(1, DAYS[2], "10")], tolerance=1e-6) == DAYS[0]
    assert first_change(stored, [_row(1, d, "1") for d in DAYS[:3]], tolerance=1e-6) == DAYS[0]


def test_unchanged_overlap_rows_are_not_written_again() -> None:
    stored = {1: {DAYS[0]: Decimal("10"), DAYS[1]: Decimal("11")}}
    rows = [_row(1, DAYS[0], "10"), _row(1, DAYS[1], "11.5"), _row(1, DAYS[2], "12"), _row(2, DAYS[0], "5")]
    assert without_unchanged(rows, stored, tolerance=1e-6) == rows[1:]


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), count=st.integers(0, 300))
def test_subtract_weekdays_lands_count_weekdays_back(day: date, count: int) -> None:
    back = subtract_weekdays(day, count)
    assert back.weekday() < 5 and back <= day
    last = day
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    assert sum(1 for i in range((last - back).days) if (back + timedelta(days=i + 1)).weekday() < 5) == count


@given(
    last_bar=st.none() | st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 11, 20)),
    overlap=st.integers(0, 10),
)
def test_a_fetch_starts_at_the_first_missing_day_less_the_overlap_never_before_history(
    last_bar: date | None, overlap: int
) -> None:
    start = date(2018, 1, 1)
    progress = SymbolProgress("X", last_bar=last_bar, checked_through=None)
    begins = fetch_from(progress, history_start=start, overlap=overlap)
    assert start <= begins <= first_missing(progress, history_start=start)
    if last_bar is not None and overlap > 0:
        # the newest `overlap` stored weekdays are asked for again
        assert begins <= subtract_weekdays(last_bar, overlap - 1) or begins == start
