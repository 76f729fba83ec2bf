"""Whether one more ingest batch fits in the invocation: the budget's wait, the call at its worst, the store."""

from __future__ import annotations

from autoindex.market.deadline import batch_fits, wait_for_room
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
