"""Requests to a remote service spaced out across every process: send slots reserved in one Redis list.

A remote service that counts requests per second (SEC EDGAR blocks a client over 10 a second for ten
minutes) sees every process of ours as one client. :class:`LocalPace` spaces one process's requests
only; :class:`SharedPace` reserves each request's slot in Redis, in one Lua round trip, so a job, its
retry and the CLI running at once keep one pace between them.

The rule, on the Redis server's clock (every process agrees, whatever its own clock says): a slot is
at least ``1 / rps`` after the previous one, and at least ``1 s + MARGIN_MS`` after the one
``floor(rps)`` slots before it. Slots are what we control; the remote side counts arrivals, which come
a little after their slots (sleeping past the slot, connecting, a loaded machine). The margin keeps a
second's count at ``rps`` as long as a request is not ``MARGIN_MS`` later than the one ``rps`` slots
before it. It costs nothing until more than ``rps`` requests come in a row.

Slots are handed out in order of asking (first come, first served): the caller sleeps until its slot,
then sends. A slot further away than the caller can wait (its deadline) is refused and not reserved.

Redis out of reach: each process falls back to its own pace, the same rule over its own slots (logged,
``<metric>PaceUnshared``), as before the pace was shared: at most ``rps`` for that process, but several
processes together may then go over it. The remote side's own answer (SEC's 403) still trips the circuit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from autoindex.observability import add_metric, logger
from autoindex.redis_scripts import RedisScript, lua_now_ms, redis_unavailable_errors

if TYPE_CHECKING:
    from redis import Redis

#: How late an arrival may come, relative to the one ``rps`` slots before it, and still count within
#: ``rps`` a second at the remote side.
MARGIN_MS = 100
# No deadline: a wait of a day is as good as unbounded.
_NO_DEADLINE_MS = 86_400_000


class SlotTooFar(Exception):
    """The next free slot is further away than the caller may wait; nothing was reserved."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"the next slot is {wait_s:.2f} s away")
        self.wait_s = wait_s


class Pace(Protocol):
    def reserve(self, max_wait_s: float | None = None) -> float:
        """Reserve the next slot; seconds from now until it (0: send now). The caller sleeps that long.

        Raises SlotTooFar, reserving nothing, when the slot is more than ``max_wait_s`` away.
        """
        ...


@dataclass(frozen=True, slots=True)
class PaceRule:
    """Slots ``spacing_ms`` apart, and at most ``per_window`` of them in any ``window_ms`` (module docstring)."""

    per_window: int
    window_ms: int
    spacing_ms: int

    @classmethod
    def for_rate(cls, rps: float) -> PaceRule:
        # A fractional rate cannot be had in every one-second window: 2.5 a second is 2 in some of them.
        return cls(per_window=max(math.floor(rps), 1), window_ms=1000 + MARGIN_MS, spacing_ms=math.ceil(1000 / rps))


class LocalPace:
    """This process's pace, whichever thread asks: the shared pace's rule over this process's own slots."""

    def __init__(self, rps: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        rule = PaceRule.for_rate(rps)
        self._spacing, self._window = rule.spacing_ms / 1000, rule.window_ms / 1000
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: deque[float] = deque(maxlen=rule.per_window)  # the latest, oldest first

    def reserve(self, max_wait_s: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            at = now
            if self._slots:
                at = max(at, self._slots[-1] + self._spacing)
            if len(self._slots) == self._slots.maxlen:
                at = max(at, self._slots[0] + self._window)
            if max_wait_s is not None and at - now > max_wait_s:
                raise SlotTooFar(at - now)
            self._slots.append(at)
        return at - now

    def follow(self, wait_s: float) -> None:
        """A slot ``wait_s`` from now was reserved elsewhere (the shared pace): count it here too, so a switch
        to this pace (Redis lost mid-run) keeps the rule over this process's requests."""
        with self._lock:
            self._slots.append(self._clock() + wait_s)


# KEYS[1]: the latest slots, oldest first, in ms on the server's clock (at most ARGV[1] of them).
# ARGV: slots per window, window_ms, spacing_ms, max_wait_ms, and a test clock ('' reads TIME).
# Replies {1, wait_ms} with the slot reserved, or {0, wait_ms} with nothing reserved.
_RESERVE = RedisScript(
    lua_now_ms(5)
    + """
local per_window, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local spacing, max_wait = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = redis.call('LLEN', KEYS[1])
local at = now_ms
if n > 0 then
  at = math.max(at, tonumber(redis.call('LINDEX', KEYS[1], -1)) + spacing)
end
if n >= per_window then
  at = math.max(at, tonumber(redis.call('LINDEX', KEYS[1], -per_window)) + window)
end
local wait = at - now_ms
if wait > max_wait then
  return {0, wait}
end
redis.call('RPUSH', KEYS[1], string.format('%d', at))
redis.call('LTRIM', KEYS[1], -per_window, -1)
redis.call('PEXPIRE', KEYS[1], wait + window)
return {1, wait}
"""
)


class SharedPace:
    """Every process's pace through one Redis list at ``key`` (hash-tagged: one Redis Cluster slot).

    Parameters
    ----------
    client
        A ``redis.Redis`` (or cluster) client.
    rps
        Requests a second at most, for all processes together (every process should pass the same).
    fallback
        This process's own pace, used while Redis is out of reach.
    clock_ms
        Overrides the Redis server's clock (tests only); None uses ``TIME``.
    metric_prefix
        Names the metric counted when the pace falls back (``<prefix>PaceUnshared``).
    """

    def __init__(
        self,
        client: Redis,
        *,
        key: str,
        rps: float,
        fallback: LocalPace,
        clock_ms: Callable[[], int] | None = None,
        metric_prefix: str = "Provider",
    ) -> None:
        if "{" not in key:
            raise ValueError("the pace key needs a hash tag, so it lives in one cluster slot with its service's keys")
        self._client, self._key, self._fallback = client, key, fallback
        rule = PaceRule.for_rate(rps)
        self._args = (rule.per_window, rule.window_ms, rule.spacing_ms)
        self._clock_ms = clock_ms
        self._metric = metric_prefix
        self._down = redis_unavailable_errors()

    def reserve(self, max_wait_s: float | None = None) -> float:
        max_wait_ms = _NO_DEADLINE_MS if max_wait_s is None else max(math.floor(max_wait_s * 1000), 0)
        now = "" if self._clock_ms is None else str(self._clock_ms())
        try:
            reserved, wait_ms = _RESERVE.run(self._client, [self._key], (*self._args, max_wait_ms, now))
        except self._down as exc:
            add_metric(f"{self._metric}PaceUnshared")
            logger.warning("pace store unavailable; pacing this process alone", extra={"error": type(exc).__name__})
            return self._fallback.reserve(max_wait_s)
        wait_s = int(wait_ms) / 1000
        if int(reserved) != 1:
            raise SlotTooFar(wait_s)
        self._fallback.follow(wait_s)
        return wait_s
