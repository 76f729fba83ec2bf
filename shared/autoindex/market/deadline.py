"""Whether one more ingest batch fits in what is left of the invocation: pure, so the rule is tested on its own.

A batch may have to wait for room in the shared credit budget, then make its provider calls, then store
and commit. Its calls are reserved one by one, so a batch that spends more than the minute has room for
waits for one minute window per call that no longer fits (a whole history on the Basic plan: its two
bases and its unadjusted closes, three calls of a minute's credits each). Lambda ends the
invocation at its Timeout wherever it is; a batch started too late would be cut off mid-call and
retried from scratch, so it is better handed back to the queue untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autoindex.market.providers.budget import BudgetUsage

#: Seconds from one budget minute window to the next (``budget.MINUTE_MS``).
WINDOW_S = 60.0


def wait_for_room(usage: BudgetUsage | None, cost: int) -> float:
    """Seconds until the budget can grant ``cost`` credits (0 when it can now, costs nothing, or is unknown).

    A spent day needs no wait: the transport refuses at once and the batch is recorded as failed.
    """
    if usage is None or cost <= 0 or usage.day_used + cost > usage.day_limit:
        return 0.0
    return 0.0 if usage.minute_used + cost <= usage.minute_limit else usage.minute_resets_in_s


def wait_for_calls(usage: BudgetUsage | None, costs: Sequence[int]) -> float:
    """Seconds until the budget can grant the last of ``costs`` (each call's credits, in order), made one by one.

    Each call takes the room left in its minute window or waits for the next one, as the transport does.
    0 when all fit now or nothing is known; a spent day needs no wait (the transport refuses at once). A
    call larger than a whole minute is counted as one window: the transport refuses it after its wait.
    """
    costs = [c for c in costs if c > 0]
    if usage is None or not costs or usage.day_used + sum(costs) > usage.day_limit:
        return 0.0
    turns, room = 0, usage.minute_limit - usage.minute_used
    for cost in costs:
        if cost > room:
            turns, room = turns + 1, usage.minute_limit
        room -= cost
    return 0.0 if turns == 0 else usage.minute_resets_in_s + (turns - 1) * WINDOW_S


def batch_fits(remaining_s: float, *, wait_s: float, call_s: float, store_s: float) -> bool:
    """True when a batch that starts now can finish before the invocation's remaining time runs out."""
    return remaining_s >= wait_s + call_s + store_s
