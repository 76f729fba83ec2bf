"""Single flight: concurrent calls for one key in this process share one execution.

When a cache cannot answer (Redis down, or a new data version nobody has read yet), every request
for the same read would otherwise go to the database at once. With single flight the first caller
loads and the others wait for its result (or its exception), so a burst of N misses for one key
costs one database read per container.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    __slots__ = ("done", "error", "followers", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.followers = 0


class SingleFlight(Generic[T]):
    """``do(key, fn)`` runs ``fn`` once for all concurrent callers of ``key``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}

    def do(self, key: Hashable, fn: Callable[[], T]) -> tuple[T, bool]:
        """``fn()``'s result and whether it was shared (this caller waited for another's call)."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            else:
                call.followers += 1
        if not leader:
            call.done.wait()  # the leader always finishes: its own timeouts bound the wait
            if call.error is not None:
                raise call.error
            return call.result, True  # type: ignore[return-value]
        try:
            call.result = fn()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
        return call.result, False

    def followers(self, key: Hashable) -> int:
        """How many callers are waiting on the call in flight for ``key`` (0 when none is)."""
        with self._lock:
            call = self._calls.get(key)
            return call.followers if call is not None else 0
