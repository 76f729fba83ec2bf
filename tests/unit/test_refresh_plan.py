"""Refresh planning: every missing day of every symbol is asked for exactly once, within the provider's limits."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from autoindex.market.planning import (
    SymbolProgress,
    add_weekdays,
    first_missing,
    last_final_session,
    plan_batches,
    plan_refresh,
)
from hypothesis import given, settings
from hypothesis import strategies as st

THROUGH = date(2026, 11, 25)


@settings(max_examples=150, deadline=None)
@given(
    starts=st.dictionaries(
        st.sampled_from([f"S{i}" for i in range(30)]),
        st.dates(
            min_value=date(2022, 1, 1), max_value=THROUGH + timedelta(days=5)
        ),  # ~1,250 weekdays: one-bar calls stay cheap
        min_size=1,
    ),
    batch_symbols=st.integers(min_value=1, max_value=8),
    max_bars=st.integers(min_value=1, max_value=5_000),
)
def test_each_missing_day_is_planned_once_within_limits(
    starts: dict[str, date], batch_symbols: int, max_bars: int
) -> None:
    batches = plan_batches(starts, through=THROUGH, batch_symbols=batch_symbols, max_bars=max_bars)
    covered: dict[str, list[tuple[date, date]]] = {}
    for batch in batches:
        assert 1 <= len(batch.symbols) <= batch_symbols
        assert batch.start <= batch.end <= THROUGH
        weekdays = sum(1 for i in range((batch.end - batch.start).days + 1)
                       if (batch.start + timedelta(days=i)).weekday() < 5)  # fmt: skip
        assert weekdays <= max_bars
        for symbol in batch.symbols:
            covered.setdefault(symbol, []).append((batch.start, batch.end))
    for symbol, first in starts.items():
        pieces = sorted(covered.get(symbol, []))
        if first > THROUGH:
            assert pieces == []  # complete symbols cost nothing
            continue
        assert pieces[0][0] == first and pieces[-1][1] == THROUGH
        for (_, end), (start, _) in itertools.pairwise(pieces):
            assert start == end + timedelta(days=1)  # contiguous, no overlap, no gap


def test_symbols_needing_the_same_range_share_calls() -> None:
    starts = {s: date(2026, 11, 25) for s in ("A", "B", "C", "D", "E")}
    batches = plan_batches(starts, through=THROUGH, batch_symbols=2, max_bars=5_000)
    assert [b.symbols for b in batches] == [("A", "B"), ("C", "D"), ("E",)]


def test_first_history_since_2018_fits_the_5000_bar_limit_in_one_call() -> None:
    batches = plan_batches({"AAPL": date(2018, 1, 1)}, through=THROUGH, batch_symbols=8, max_bars=5_000)
    assert len(batches) == 1 and batches[0].start == date(2018, 1, 1)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=6_000))
def test_add_weekdays_lands_on_a_weekday_count_days_on(start: date, count: int) -> None:
    end = add_weekdays(start, count)
    assert end.weekday() < 5
    first = start
    while first.weekday() >= 5:
        first += timedelta(days=1)
    between = sum(1 for i in range(1, (end - first).days + 1) if (first + timedelta(days=i)).weekday() < 5)
    assert between == count


def test_last_final_session_respects_the_close_and_weekends() -> None:
    tz, settle = "America/New_York", timedelta(minutes=30)
    # Thursday 2026-11-26 15:00 New York (20:00 UTC): today's bar is still forming -> Wednesday.
    assert last_final_session(datetime(2026, 11, 26, 20, 0, tzinfo=UTC), tz, settle=settle) == date(2026, 11, 25)
    # Thursday 16:45 New York (21:45 UTC): closed and settled -> Thursday.
    assert last_final_session(datetime(2026, 11, 26, 21, 45, tzinfo=UTC), tz, settle=settle) == date(2026, 11, 26)
    # Sunday -> Friday.
    assert last_final_session(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tz, settle=settle) == date(2026, 11, 27)


@given(
    last_bar=st.none() | st.dates(min_value=date(2018, 1, 1), max_value=THROUGH),
    checked=st.none() | st.dates(min_value=date(2018, 1, 1), max_value=THROUGH),
)
def test_a_symbol_resumes_the_day_after_the_later_of_its_last_bar_and_its_last_check(
    last_bar: date | None, checked: date | None
) -> None:
    start = date(2018, 1, 1)
    nxt = first_missing(SymbolProgress("X", last_bar=last_bar, checked_through=checked), history_start=start)
    known = [d for d in (last_bar, checked) if d is not None]
    assert nxt == (max(known) + timedelta(days=1) if known else start)
    assert all(nxt > d for d in known)  # never asks again for a day it has or was told has no bar


def test_a_plan_fetches_only_what_is_missing_up_to_the_last_final_session() -> None:
    # Thursday 2026-11-26, 22:00 UTC (17:00 New York): that day's bar is final after the 30-minute settle.
    now = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    progress = [
        SymbolProgress("NEW", last_bar=None, checked_through=None),
        SymbolProgress("LAG", last_bar=date(2026, 11, 20), checked_through=None),
        SymbolProgress("HOL", last_bar=date(2026, 11, 20), checked_through=date(2026, 11, 24)),
        SymbolProgress("DONE", last_bar=date(2026, 11, 26), checked_through=None),
    ]
    plan = plan_refresh(
        progress,
        now=now,
        exchange_timezone="America/New_York",
        settle=timedelta(minutes=30),
        history_start=date(2026, 11, 2),
        batch_symbols=8,
        max_bars=5_000,
    )
    assert plan.through == date(2026, 11, 26)
    asked = {(s, b.start, b.end) for b in plan.batches for s in b.symbols}
    assert asked == {
        ("NEW", date(2026, 11, 2), date(2026, 11, 26)),
        ("LAG", date(2026, 11, 21), date(2026, 11, 26)),
        ("HOL", date(2026, 11, 25), date(2026, 11, 26)),
    }


def test_symbols_with_nothing_stored_are_planned_in_backfill_batches_of_their_own() -> None:
    start = date(2026, 11, 2)
    progress = [
        SymbolProgress("NEW1", None, None),
        SymbolProgress("NEW2", None, None),
        SymbolProgress("OLD", date(2026, 11, 3), date(2026, 11, 3)),  # a day stored: its refresh would start at start
        SymbolProgress("HOLIDAY", None, date(2026, 11, 20)),  # asked before, nothing yet: not a backfill
    ]
    plan = plan_refresh(
        progress,
        now=datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
        exchange_timezone="America/New_York",
        settle=timedelta(minutes=30),
        history_start=start,
        batch_symbols=8,
        max_bars=5000,
        overlap=5,
    )
    by_kind = {(b.start, b.backfill): b.symbols for b in plan.batches}
    assert by_kind[(start, True)] == ("NEW1", "NEW2")
    assert by_kind[(start, False)] == ("OLD",)
    assert [b.symbols for b in plan.batches if b.backfill] == [("NEW1", "NEW2")]


def test_a_stored_stock_whose_splits_were_never_read_gets_its_whole_history_once() -> None:
    start = date(2026, 11, 2)
    progress = [
        SymbolProgress("OLDSTOCK", date(2026, 12, 1), date(2026, 12, 1), splits_unread=True),  # stored before splits
        SymbolProgress("DONE", date(2026, 12, 1), date(2026, 12, 1)),
    ]
    plan = plan_refresh(
        progress,
        now=datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
        exchange_timezone="America/New_York",
        settle=timedelta(minutes=30),
        history_start=start,
        batch_symbols=8,
        max_bars=5000,
        overlap=5,
    )
    whole = [b for b in plan.batches if b.backfill]
    assert [(b.symbols, b.start, b.end) for b in whole] == [(("OLDSTOCK",), start, date(2026, 12, 2))]
    assert [b.symbols for b in plan.batches if not b.backfill] == [("DONE",)]  # its overlap, as every day
