"""The plan's credits as one budget shared by every ingest, process and Lambda instance.

Each provider call first reserves ``weight x symbols`` credits. In Redis a reservation is one
Lua script (one round trip) that reads the server's clock, checks the minute window and the
UTC day together, and counts the credits in both only when both have room. So concurrent
callers can never reserve more than the plan allows, and the provider never has to answer 429.

Minute windows are clock-aligned (``[k*w, (k+1)*w)`` milliseconds since the epoch); day windows
turn at 00:00 UTC. No reservation is granted in the last ``guard_ms`` of a minute: a call made
then could reach the provider after its minute turned and count against the next one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from autoindex.market.providers.errors import BudgetUnavailable
from autoindex.observability import add_metric, logger
from autoindex.redis_scripts import RedisScript, hash_tag, lua_now_ms, redis_unavailable_errors

if TYPE_CHECKING:
    from redis import Redis

DAY_MS = 86_400_000
MINUTE_MS = 60_000

Scope = Literal["minute", "day"]
ClockMs = Callable[[], int]


@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """Credits counted in the current minute window and UTC day."""

    minute_used: int
    minute_limit: int
    day_used: int
    day_limit: int
    minute_resets_in_s: float
    day_resets_in_s: float
    window_id: int  # which minute window (now_ms // window_ms)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of one reservation; when not granted, how long to wait or that the day is spent."""

    granted: bool
    cost: int
    usage: BudgetUsage
    day_exhausted: bool = False

    @property
    def retry_after_s(self) -> float:
        """0 when granted; the wait for the next minute window when the minute is full."""
        if self.granted:
            return 0.0
        return self.usage.day_resets_in_s if self.day_exhausted else self.usage.minute_resets_in_s


class CreditBudget(Protocol):
    @property
    def minute_limit(self) -> int: ...

    def reserve(self, cost: int) -> Reservation:
        """Reserve ``cost`` credits in the current minute and day, atomically, or say why not."""
        ...

    def usage(self) -> BudgetUsage:
        """The credits counted so far in this minute and this UTC day."""
        ...

    def exhaust(self, scope: Scope) -> None:
        """Mark the current minute (or day) as spent: the provider said so, whatever our count was."""
        ...


def _check(minute_limit: int, day_limit: int, window_ms: int, guard_ms: int) -> None:
    if minute_limit < 1 or day_limit < 1:
        raise ValueError("credit limits must be positive")
    if window_ms < 1 or not 0 <= guard_ms < window_ms // 2:
        raise ValueError("window_ms must be positive and guard_ms less than half of it")


def _check_cost(cost: int, minute_limit: int, day_limit: int) -> None:
    if cost < 1 or cost > minute_limit or cost > day_limit:
        # A reservation bigger than a whole window could never be granted; split the call instead.
        raise ValueError(f"cost {cost} must be between 1 and the per-minute limit {minute_limit}")


# Both counters are hashes {w: window id, c: credits} at fixed keys, KEYS[1] the minute and KEYS[2] the
# day, so every key is declared and (one hash tag) in one Redis Cluster slot. A counter whose window
# has passed reads as 0 and starts again; each expires a little after the window it counts ends.
_COUNTERS_LUA = """
local function read(key, wid)
  local h = redis.call('HMGET', key, 'w', 'c')
  if h[1] == string.format('%d', wid) then return tonumber(h[2] or '0') end
  return 0
end
local function add(key, wid, used, cost, ttl)
  if used == 0 then
    redis.call('HSET', key, 'w', string.format('%d', wid), 'c', cost)
    redis.call('PEXPIRE', key, ttl)
    return cost
  end
  return redis.call('HINCRBY', key, 'c', cost)
end
local function fill(key, wid, limit, ttl)
  if read(key, wid) < limit then
    redis.call('HSET', key, 'w', string.format('%d', wid), 'c', limit)
    redis.call('PEXPIRE', key, ttl)
  end
end
"""

# ARGV: cost (0 = read only), minute limit, day limit, window ms, guard ms, now ms ('' = server TIME).
# Reply: granted (0/1), refusal (0 none, 1 minute, 2 day), minute used, day used, ms to window end,
# ms to day end, window id.
_RESERVE = RedisScript(
    lua_now_ms(6)
    + _COUNTERS_LUA
    + """local cost, mlim, dlim = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, guard = tonumber(ARGV[4]), tonumber(ARGV[5])
local day = 86400000
local wid = math.floor(now_ms / window)
local did = math.floor(now_ms / day)
local mused = read(KEYS[1], wid)
local dused = read(KEYS[2], did)
local mleft = (wid + 1) * window - now_ms
local dleft = (did + 1) * day - now_ms
if cost == 0 then
  return {1, 0, mused, dused, mleft, dleft, wid}
end
if dused + cost > dlim then
  return {0, 2, mused, dused, mleft, dleft, wid}
end
if mleft <= guard or mused + cost > mlim then
  return {0, 1, mused, dused, mleft, dleft, wid}
end
mused = add(KEYS[1], wid, mused, cost, mleft + 1000)
dused = add(KEYS[2], did, dused, cost, dleft + 60000)
return {1, 0, mused, dused, mleft, dleft, wid}
"""
)

# ARGV: scope ('minute' | 'day'), limit, window ms, now ms ('' = server TIME). KEYS as for _RESERVE.
_EXHAUST = RedisScript(
    lua_now_ms(4)
    + _COUNTERS_LUA
    + """local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local day = 86400000
if ARGV[1] == 'day' then
  local did = math.floor(now_ms / day)
  fill(KEYS[2], did, limit, (did + 1) * day - now_ms + 60000)
else
  local wid = math.floor(now_ms / window)
  fill(KEYS[1], wid, limit, (wid + 1) * window - now_ms + 1000)
end
return 1
"""
)


class RedisCreditBudget:
    """The production budget: exact across every process that shares the Redis server.

    Parameters
    ----------
    client
        A ``redis.Redis`` client.
    minute_limit, day_limit
        The plan's credits per minute and per UTC day.
    key_prefix
        Names the budget: its two counters are ``{<key_prefix>}:m:<window_ms>`` and ``{<key_prefix>}:d``.
    window_ms
        Length of the "minute" window; shorter only in tests.
    guard_ms
        The end of each window in which nothing is granted.
    clock_ms
        Overrides the Redis server's clock (tests only); None uses ``TIME``.
    """

    def __init__(
        self,
        client: Redis,
        *,
        minute_limit: int,
        day_limit: int,
        key_prefix: str = "provider:credits",
        window_ms: int = MINUTE_MS,
        guard_ms: int = 1_000,
        clock_ms: ClockMs | None = None,
    ) -> None:
        _check(minute_limit, day_limit, window_ms, guard_ms)
        self._client = client
        self._minute_limit = minute_limit
        self._day_limit = day_limit
        # One hash tag for both counters: on a Redis Cluster a reservation is still one slot, one script.
        tag = hash_tag(key_prefix)
        self._keys = [f"{tag}:m:{window_ms}", f"{tag}:d"]
        self._window_ms = window_ms
        self._guard_ms = guard_ms
        self._clock_ms = clock_ms
        self._down = redis_unavailable_errors()

    @property
    def minute_limit(self) -> int:
        return self._minute_limit

    def _now_arg(self) -> str:
        return "" if self._clock_ms is None else str(self._clock_ms())

    def _run(self, cost: int) -> list[int]:
        args = (cost, self._minute_limit, self._day_limit, self._window_ms, self._guard_ms, self._now_arg())
        try:
            reply = _RESERVE.run(self._client, self._keys, args)
        except self._down as exc:
            add_metric("ProviderBudgetUnavailable")
            logger.error("provider credit budget unavailable", extra={"error": type(exc).__name__})
            raise BudgetUnavailable("The provider credit budget is unavailable; no call was made.") from exc
        return [int(v) for v in reply]

    def _usage(self, reply: list[int]) -> BudgetUsage:
        _, _, mused, dused, mleft, dleft, wid = reply
        return BudgetUsage(
            minute_used=mused,
            minute_limit=self._minute_limit,
            day_used=dused,
            day_limit=self._day_limit,
            minute_resets_in_s=mleft / 1000,
            day_resets_in_s=dleft / 1000,
            window_id=wid,
        )

    def reserve(self, cost: int) -> Reservation:
        """Reserve ``cost`` credits in one round trip.

        Raises
        ------
        ValueError
            ``cost`` is below 1 or above a whole window's limit.
        BudgetUnavailable
            Redis could not be reached; the caller must not call the provider.
        """
        _check_cost(cost, self._minute_limit, self._day_limit)
        reply = self._run(cost)
        return Reservation(granted=reply[0] == 1, cost=cost, usage=self._usage(reply), day_exhausted=reply[1] == 2)

    def usage(self) -> BudgetUsage:
        return self._usage(self._run(0))

    def exhaust(self, scope: Scope) -> None:
        limit = self._day_limit if scope == "day" else self._minute_limit
        try:
            _EXHAUST.run(self._client, self._keys, (scope, limit, self._window_ms, self._now_arg()))
        except self._down as exc:
            logger.warning("could not mark provider credits spent", extra={"error": type(exc).__name__})


class MemoryCreditBudget:
    """The embedded budget (no REDIS_URL): the same rules, exact within one process only."""

    def __init__(
        self,
        *,
        minute_limit: int,
        day_limit: int,
        window_ms: int = MINUTE_MS,
        guard_ms: int = 1_000,
        clock_ms: ClockMs | None = None,
    ) -> None:
        _check(minute_limit, day_limit, window_ms, guard_ms)
        self._minute_limit = minute_limit
        self._day_limit = day_limit
        self._window_ms = window_ms
        self._guard_ms = guard_ms
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._minute: tuple[int, int] = (-1, 0)  # (window id, credits)
        self._day: tuple[int, int] = (-1, 0)  # (UTC day number, credits)

    @property
    def minute_limit(self) -> int:
        return self._minute_limit

    def _state(self, now_ms: int) -> BudgetUsage:
        wid, did = now_ms // self._window_ms, now_ms // DAY_MS
        if self._minute[0] != wid:
            self._minute = (wid, 0)
        if self._day[0] != did:
            self._day = (did, 0)
        return BudgetUsage(
            minute_used=self._minute[1],
            minute_limit=self._minute_limit,
            day_used=self._day[1],
            day_limit=self._day_limit,
            minute_resets_in_s=((wid + 1) * self._window_ms - now_ms) / 1000,
            day_resets_in_s=((did + 1) * DAY_MS - now_ms) / 1000,
            window_id=wid,
        )

    def reserve(self, cost: int) -> Reservation:
        _check_cost(cost, self._minute_limit, self._day_limit)
        with self._lock:
            now_ms = self._clock_ms()
            state = self._state(now_ms)
            if state.day_used + cost > self._day_limit:
                return Reservation(granted=False, cost=cost, usage=state, day_exhausted=True)
            full = state.minute_used + cost > self._minute_limit
            if full or state.minute_resets_in_s * 1000 <= self._guard_ms:
                return Reservation(granted=False, cost=cost, usage=state)
            self._minute = (self._minute[0], self._minute[1] + cost)
            self._day = (self._day[0], self._day[1] + cost)
            return Reservation(granted=True, cost=cost, usage=self._state(now_ms))

    def usage(self) -> BudgetUsage:
        with self._lock:
            return self._state(self._clock_ms())

    def exhaust(self, scope: Scope) -> None:
        with self._lock:
            self._state(self._clock_ms())
            if scope == "day":
                self._day = (self._day[0], max(self._day[1], self._day_limit))
            else:
                self._minute = (self._minute[0], max(self._minute[1], self._minute_limit))
