"""The shared credit budget: exact across processes on a real Redis, minute and UTC-day windows, outages."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from autoindex.market.providers.budget import CreditBudget, MemoryCreditBudget, RedisCreditBudget
from autoindex.market.providers.errors import BudgetUnavailable
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import REDIS_URL
from tests.workers import StartGate, race

WORKERS = 4
LIMIT = 8
WINDOW_MS = 400
WINDOWS = 5


def _reserve_loop(gate: StartGate, redis_url: str, prefix: str, cost: int) -> None:
    budget = RedisCreditBudget(
        Redis.from_url(redis_url),
        minute_limit=LIMIT,
        day_limit=1_000_000,
        key_prefix=prefix,
        window_ms=WINDOW_MS,
        guard_ms=0,
    )
    budget.usage()  # connected and the script loaded before the race
    stop_at = gate.wait_for_start() + WINDOWS * WINDOW_MS / 1000 - 0.04  # ends inside the fifth window
    granted: Counter[int] = Counter()
    refused: list[tuple[int, int]] = []  # (window, credits the window said it had used) per refusal
    attempts = 0
    while time.time() < stop_at:
        reservation = budget.reserve(cost)
        attempts += 1
        if reservation.granted:
            granted[reservation.usage.window_id] += cost
        else:
            refused.append((reservation.usage.window_id, reservation.usage.minute_used))
    gate.report((dict(granted), attempts, refused, cost))


@pytest.mark.slow
def test_four_processes_never_over_reserve_a_shared_minute(key_prefix: str) -> None:
    # Given four processes, two asking 1 credit and two asking 2 at a time, through 5 windows of 8 credits
    workers = [(REDIS_URL, key_prefix, 1 + i % 2) for i in range(WORKERS)]
    # just after a window boundary still ahead, chosen once every worker is connected and waiting
    outcomes = race(
        _reserve_loop, workers, start_at=lambda now: (int(now * 1000 / WINDOW_MS) + 2) * WINDOW_MS / 1000 + 0.02
    )
    per_window: Counter[int] = Counter()
    refusals: list[tuple[int, int, int]] = []
    for granted, attempts, refused, cost in outcomes:
        per_window.update(granted)
        refusals.extend((window, used, cost) for window, used in refused)
        assert attempts > LIMIT  # every worker really competed
    # Then no window ever granted more than the plan, and a window was filled to it:
    assert max(per_window.values()) == LIMIT, per_window
    # and no credit was refused while the window had room for it: each refusal saw a count that left no room,
    # and that count is made of grants the workers really got (never a phantom reservation). This holds
    # however late a loaded machine schedules the workers, unlike "every window was used up in time".
    assert refusals, "the workers never competed for a window"
    for window, used, cost in refusals:
        assert used + cost > LIMIT, (window, used, cost)
        assert per_window[window] >= used, (window, used, per_window)


class MsClock:
    def __init__(self, when: datetime) -> None:
        self.ms = int(when.timestamp() * 1000)

    def __call__(self) -> int:
        return self.ms


def _budgets(redis: Redis, prefix: str, clock: MsClock, **limits: int) -> list[CreditBudget]:
    return [
        RedisCreditBudget(redis, key_prefix=prefix, clock_ms=clock, **limits),
        MemoryCreditBudget(clock_ms=clock, **limits),
    ]


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_the_day_turns_at_utc_midnight(redis: Redis, key_prefix: str, kind: str) -> None:
    clock = MsClock(datetime(2024, 3, 13, 23, 59, 50, tzinfo=UTC))
    budget = _budgets(redis, key_prefix, clock, minute_limit=8, day_limit=5, guard_ms=0)[kind == "memory"]
    assert budget.reserve(3).granted and budget.reserve(2).granted
    spent = budget.reserve(1)
    assert not spent.granted and spent.day_exhausted and spent.retry_after_s == pytest.approx(10.0)
    clock.ms += 9_999  # 23:59:59.999: still the same UTC day
    assert budget.reserve(1).day_exhausted
    clock.ms += 1  # 00:00:00.000 UTC
    fresh = budget.reserve(1)
    assert fresh.granted and fresh.usage.day_used == 1 and fresh.usage.minute_used == 1
    assert fresh.usage.day_resets_in_s == pytest.approx(86_400.0)


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_a_full_minute_says_how_long_to_wait_and_the_guard_band_holds_back(
    redis: Redis, key_prefix: str, kind: str
) -> None:
    clock = MsClock(datetime(2024, 3, 13, 15, 0, 20, tzinfo=UTC))
    budget = _budgets(redis, key_prefix, clock, minute_limit=8, day_limit=800, guard_ms=1_000)[kind == "memory"]
    assert budget.reserve(5).granted
    full = budget.reserve(4)  # 5 + 4 > 8: refused, nothing counted
    assert not full.granted and not full.day_exhausted and full.retry_after_s == pytest.approx(40.0)
    assert budget.reserve(3).granted and budget.usage().minute_used == 8
    clock.ms += 39_500  # 15:00:59.5: room in the next window, but a call now might land in it late
    assert budget.reserve(1).retry_after_s == pytest.approx(0.5)
    clock.ms += 500
    assert budget.reserve(8).granted
    budget.exhaust("minute")  # the provider said the minute is spent
    assert budget.usage().minute_used == 8 and budget.usage().day_used == 16


def test_peeking_counts_nothing_and_oversized_costs_are_refused(redis: Redis, key_prefix: str) -> None:
    budget = RedisCreditBudget(redis, minute_limit=8, day_limit=800, key_prefix=key_prefix)
    assert budget.usage().minute_used == 0
    assert budget.usage().minute_used == 0
    with pytest.raises(ValueError, match="per-minute limit"):
        budget.reserve(9)
    with pytest.raises(ValueError):
        budget.reserve(0)


def test_a_budget_without_redis_refuses_to_guess() -> None:
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    budget = RedisCreditBudget(down, minute_limit=8, day_limit=800)
    with pytest.raises(BudgetUnavailable):
        budget.reserve(1)
