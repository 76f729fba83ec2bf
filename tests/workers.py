"""Processes that race together: spawned, connected and waiting first, then released at one chosen instant.

The exactness tests (rate limits, the credit budget) need several processes hitting one store inside
the same windows. On a loaded machine spawning a process takes seconds, so the window start is chosen
only after every worker has said it is ready (a barrier), never before: a start fixed in advance would
find late workers and a run that tests nothing.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

READY = "ready"


@dataclass(frozen=True)
class StartGate:
    """A worker's side of the race: say ready, wait for the start instant, report one outcome."""

    results: Any  # multiprocessing Queue: "ready", then the worker's outcome
    go: Any  # multiprocessing Event: set once the start instant is chosen
    start_at: Any  # multiprocessing Value("d"): the start instant, as time.time()

    def wait_for_start(self) -> float:
        """Block until the race starts; returns its start instant (the caller is ready when it calls this)."""
        self.results.put(READY)
        self.go.wait(timeout=120)
        begin = float(self.start_at.value)
        while time.time() < begin:
            time.sleep(0.001)
        return begin

    def report(self, outcome: Any) -> None:
        self.results.put(outcome)


def race(
    worker: Callable[..., None], args_per_worker: Sequence[tuple[Any, ...]], *, start_at: Callable[[float], float]
) -> list[Any]:
    """Run ``worker(gate, *args)`` in one spawned process per ``args``; their outcomes, in arrival order.

    ``start_at`` turns the moment every worker is ready into the instant the race starts (typically
    just after a window boundary that is still ahead).
    """
    ctx = multiprocessing.get_context("spawn")
    gate = StartGate(results=ctx.Queue(), go=ctx.Event(), start_at=ctx.Value("d", 0.0))
    procs = [ctx.Process(target=worker, args=(gate, *args)) for args in args_per_worker]
    for proc in procs:
        proc.start()
    try:
        assert [gate.results.get(timeout=120) for _ in procs] == [READY] * len(procs)
        gate.start_at.value = start_at(time.time())
        gate.go.set()
        outcomes = [gate.results.get(timeout=60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    return outcomes
