"""Whether one more ingest batch fits in the invocation: the budget's wait, the call at its worst, the store."""

from __future__ import annotations

from autoindex.market.deadline import batch_fits, wait_for_calls, wait_for_room
from autoindex.market.providers.budget import BudgetUsage


def _usage(minute_used: int, day_used: int = 0, resets_in_s: float = 42.0) -> BudgetUsage:
    return BudgetUsage(
        minute_used=minute_used,
        minute_limit=8,
        day_used=day_used,
        day_limit=800,
        minute_resets_in_s=resets_in_s,
        day_resets_in_s=3_600.0,
        window_id=1,
    )


def test_a_batch_waits_only_when_the_minute_has_no_room_for_it() -> None:
    assert wait_for_room(_usage(0), 8) == 0.0
    assert wait_for_room(_usage(3), 5) == 0.0
    assert wait_for_room(_usage(3), 6) == 42.0  # the next minute window
    assert wait_for_room(_usage(8), 1) == 42.0


def test_no_wait_when_nothing_is_spent_nothing_is_known_or_the_day_is_gone() -> None:
    assert wait_for_room(_usage(8), 0) == 0.0  # the demo provider costs nothing
    assert wait_for_room(None, 8) == 0.0
    assert wait_for_room(_usage(8, day_used=800), 1) == 0.0  # refused at once, recorded as failed


def test_a_batch_fits_only_when_wait_call_and_store_all_fit() -> None:
    assert batch_fits(100.0, wait_s=42.0, call_s=38.0, store_s=20.0)
    assert not batch_fits(99.9, wait_s=42.0, call_s=38.0, store_s=20.0)
    assert not batch_fits(57.0, wait_s=0.0, call_s=38.0, store_s=20.0)


def test_calls_beyond_the_minutes_room_wait_one_window_each_that_no_longer_fits() -> None:
    # The Basic plan (8 a minute), 42 s left of the window: a whole history of 8 stocks is three calls of 8
    assert wait_for_calls(_usage(0), [8, 8, 8]) == 42.0 + 60.0  # the first now, one at each of the next two turns
    assert wait_for_calls(_usage(3), [8, 8, 8]) == 42.0 + 120.0  # no room for the first either
    assert wait_for_calls(_usage(3), [2, 2, 1]) == 0.0  # five credits of room: all now
    assert wait_for_calls(_usage(3), [2, 2, 2]) == 42.0  # the last waits for the turn
    assert wait_for_calls(_usage(0), [4, 3, 4, 4, 1]) == 42.0 + 60.0  # 16 credits, but calls are not split
    assert wait_for_calls(_usage(3), [5]) == wait_for_room(_usage(3), 5) == 0.0
    assert wait_for_calls(_usage(3), [6]) == wait_for_room(_usage(3), 6) == 42.0


def test_calls_wait_for_nothing_when_free_unknown_or_the_day_is_spent() -> None:
    assert wait_for_calls(_usage(8), [0, 0]) == 0.0 and wait_for_calls(_usage(8), []) == 0.0
    assert wait_for_calls(None, [8, 8]) == 0.0
    assert wait_for_calls(_usage(8, day_used=790), [8, 8]) == 0.0  # refused within the day, recorded as failed
