"""Counter stores for clock-aligned fixed windows: Redis (one Lua round trip) and in-process memory.

A window is ``[k * window, (k + 1) * window)`` in milliseconds since the epoch. In Redis the
clock is the server's own (``TIME`` inside the script), so every instance agrees on the window
whatever its local clock says.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from autoindex.redis_scripts import RedisScript, redis_unavailable_errors

if TYPE_CHECKING:
    from redis import Redis


class StoreUnavailable(Exception):
    """The counter store could not be reached in time."""


@dataclass(frozen=True, slots=True)
class WindowCount:
    count: int  # hits in this window, this one included
    reset_ms: int  # milliseconds until the window ends
    window_id: int


class CounterStore(Protocol):
    def hit(self, key: str, window_ms: int) -> WindowCount:
        """Count one hit against ``key`` in the current window and report the window's state."""
        ...


# INCR and PEXPIRE run atomically with the clock read; the key expires a second after its window.
_HIT_SCRIPT = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local window_id = math.floor(now_ms / window)
local key = KEYS[1] .. ':' .. string.format('%d', window_id)
local count = redis.call('INCR', key)
if count == 1 then
  redis.call('PEXPIRE', key, window + 1000)
end
return {count, (window_id + 1) * window - now_ms, window_id}
"""
_HIT = RedisScript(_HIT_SCRIPT)


class RedisCounterStore:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._down = redis_unavailable_errors()

    def hit(self, key: str, window_ms: int) -> WindowCount:
        try:
            count, reset_ms, window_id = _HIT.run(self._client, [key], [window_ms])
        except self._down as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        return WindowCount(count=int(count), reset_ms=int(reset_ms), window_id=int(window_id))


class MemoryCounterStore:
    """The embedded default: exact within one process, and only there."""

    _MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window end in ms, count)

    def hit(self, key: str, window_ms: int) -> WindowCount:
        now_ms = time.time_ns() // 1_000_000
        window_id = now_ms // window_ms
        window_end = (window_id + 1) * window_ms
        with self._lock:
            seen_end, count = self._counts.get(key, (window_end, 0))
            count = count + 1 if seen_end == window_end else 1
            self._counts[key] = (window_end, count)
            if len(self._counts) > self._MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now_ms}
        return WindowCount(count=count, reset_ms=window_end - now_ms, window_id=window_id)
