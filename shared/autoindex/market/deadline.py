"""Whether one more ingest batch fits in what is left of the invocation: pure, so the rule is tested on its own.

A batch may have to wait for room in the shared credit budget (up to the minute's turn), then make
its provider call (timeouts and retries at their worst), then store and commit. Lambda ends the
invocation at its Timeout wherever it is; a batch started too late would be cut off mid-call and
retried from scratch, so it is better handed back to the queue untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoindex.market.providers.budget import BudgetUsage


def wait_for_room(usage: BudgetUsage | None, cost: int) -> float:
    """Seconds until the budget can grant ``cost`` credits (0 when it can now, costs nothing, or is unknown).

    A spent day needs no wait: the transport refuses at once and the batch is recorded as failed.
    """
    if usage is None or cost <= 0 or usage.day_used + cost > usage.day_limit:
        return 0.0
    return 0.0 if usage.minute_used + cost <= usage.minute_limit else usage.minute_resets_in_s


def batch_fits(remaining_s: float, *, wait_s: float, call_s: float, store_s: float) -> bool:
    """True when a batch that starts now can finish before the invocation's remaining time runs out."""
    return remaining_s >= wait_s + call_s + store_s
