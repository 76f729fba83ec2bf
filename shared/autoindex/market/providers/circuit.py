"""A circuit breaker for the provider whose state every instance shares through Redis.

closed: calls go through; ``threshold`` consecutive failures within ``window_ms`` open it.
open: calls are refused without reaching the provider until ``cooldown_ms`` has passed.
half-open: exactly one caller gets a trial call (its lease lasts ``lease_ms``, in case that
caller dies); the trial's success closes the circuit, its failure opens it again.
``trip`` opens it at once, whatever the count: the remote side asked us to stay away (SEC's throttle).

When Redis cannot be reached the breaker fails open (calls go through): it only protects the
provider and our latency, and the credit budget already refuses calls when Redis is down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from autoindex.market.providers.budget import ClockMs
from autoindex.observability import add_metric, logger
from autoindex.redis_scripts import RedisScript, as_text, lua_now_ms, redis_unavailable_errors

if TYPE_CHECKING:
    from redis import Redis

State = Literal["closed", "open", "half_open", "unknown"]


@dataclass(frozen=True, slots=True)
class CircuitDecision:
    """Whether a call may go ahead now; ``trial`` marks the single half-open probe."""

    allowed: bool
    state: State
    retry_after_s: float = 0.0
    trial: bool = False
    failures: int = 0


class CircuitBreaker(Protocol):
    def acquire(self) -> CircuitDecision:
        """Ask to make one call."""
        ...

    def record_success(self) -> None:
        """The provider answered (even with a 4xx or a 429): it is up."""
        ...

    def record_failure(self) -> None:
        """The provider did not answer usefully after the retries."""
        ...

    def trip(self) -> None:
        """Open the circuit now for a whole cooldown (the provider told us to back off)."""
        ...

    def state(self) -> CircuitDecision:
        """The current state, without asking for a call (for health and admin views)."""
        ...


def _check(threshold: int, window_ms: int, cooldown_ms: int, lease_ms: int) -> None:
    if threshold < 1 or min(window_ms, cooldown_ms, lease_ms) < 1:
        raise ValueError("circuit thresholds and durations must be positive")


# ARGV: op ('acquire' | 'success' | 'failure' | 'trip' | 'peek'), threshold, window ms, cooldown ms, lease ms,
# now ms ('' = server TIME). Reply: allowed (0/1), state, retry-after ms, trial (0/1), failures.
_CIRCUIT = RedisScript(
    lua_now_ms(6, "now")
    + """local op = ARGV[1]
local threshold, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local cooldown, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local key = KEYS[1]
-- Lua 5.1 would print big numbers in %.14g; timestamps go to Redis as exact integers.
local function s(n) return string.format('%d', n) end
local h = redis.call('HMGET', key, 'state', 'failures', 'first_ms', 'opened_ms', 'trial_until')
local state = h[1] or 'closed'
local failures = tonumber(h[2] or '0')
local first_ms = tonumber(h[3] or '0')
local opened = tonumber(h[4] or '0')
local trial_until = tonumber(h[5] or '0')
local ttl = math.max(window, cooldown + lease) + 60000
if op == 'success' then
  if state ~= 'closed' or failures > 0 then redis.call('DEL', key) end
  return {1, 'closed', 0, 0, 0}
end
if op == 'trip' then
  redis.call('HSET', key, 'state', 'open', 'opened_ms', s(now), 'trial_until', '0')
  redis.call('PEXPIRE', key, ttl)
  return {0, 'open', cooldown, 0, failures}
end
if op == 'failure' then
  if state == 'half_open' then
    redis.call('HSET', key, 'state', 'open', 'opened_ms', s(now), 'trial_until', '0')
    state = 'open'
  elseif state == 'closed' then
    if failures == 0 or now - first_ms > window then
      failures = 1
      first_ms = now
    else
      failures = failures + 1
    end
    redis.call('HSET', key, 'failures', s(failures), 'first_ms', s(first_ms))
    if failures >= threshold then
      redis.call('HSET', key, 'state', 'open', 'opened_ms', s(now))
      state = 'open'
    end
  end
  redis.call('PEXPIRE', key, ttl)
  return {0, state, 0, 0, failures}
end
if state == 'closed' then
  return {1, 'closed', 0, 0, failures}
end
if state == 'open' then
  if now - opened < cooldown then
    return {0, 'open', opened + cooldown - now, 0, failures}
  end
  if op == 'peek' then
    return {0, 'half_open', 0, 0, failures}
  end
  redis.call('HSET', key, 'state', 'half_open', 'trial_until', s(now + lease))
  redis.call('PEXPIRE', key, ttl)
  return {1, 'half_open', 0, 1, failures}
end
if now < trial_until or op == 'peek' then
  return {0, 'half_open', math.max(trial_until - now, 0), 0, failures}
end
redis.call('HSET', key, 'trial_until', s(now + lease))
redis.call('PEXPIRE', key, ttl)
return {1, 'half_open', 0, 1, failures}
"""
)


class RedisCircuitBreaker:
    """The shared breaker: one Lua round trip per decision, state in one Redis hash.

    Parameters
    ----------
    client
        A ``redis.Redis`` client.
    key
        The hash holding this circuit's state (one circuit per provider).
    threshold, window_ms, cooldown_ms, lease_ms
        See the module docstring.
    clock_ms
        Overrides the Redis server's clock (tests only); None uses ``TIME``.
    metric_prefix
        Names its metrics (``<prefix>CircuitOpen``, ...), so each remote service's circuit is told apart.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key: str = "provider:circuit:twelvedata",
        threshold: int = 5,
        window_ms: int = 60_000,
        cooldown_ms: int = 30_000,
        lease_ms: int = 30_000,
        clock_ms: ClockMs | None = None,
        metric_prefix: str = "Provider",
    ) -> None:
        _check(threshold, window_ms, cooldown_ms, lease_ms)
        self._metric = metric_prefix
        self._client = client
        self._key = key
        self._args = (threshold, window_ms, cooldown_ms, lease_ms)
        self._clock_ms = clock_ms
        self._down = redis_unavailable_errors()

    def _run(self, op: str) -> CircuitDecision:
        now = "" if self._clock_ms is None else str(self._clock_ms())
        try:
            allowed, state, retry_ms, trial, failures = _CIRCUIT.run(self._client, [self._key], (op, *self._args, now))
        except self._down as exc:
            add_metric(f"{self._metric}CircuitStoreUnavailable")
            logger.warning("circuit-breaker store unavailable; failing open", extra={"error": type(exc).__name__})
            return CircuitDecision(allowed=True, state="unknown")
        name = as_text(state)
        return CircuitDecision(
            allowed=int(allowed) == 1,
            state="open" if name == "open" else "half_open" if name == "half_open" else "closed",
            retry_after_s=int(retry_ms) / 1000,
            trial=int(trial) == 1,
            failures=int(failures),
        )

    def acquire(self) -> CircuitDecision:
        return self._run("acquire")

    def record_success(self) -> None:
        self._run("success")

    def record_failure(self) -> None:
        if self._run("failure").state == "open":
            add_metric(f"{self._metric}CircuitOpen")

    def trip(self) -> None:
        if self._run("trip").state == "open":
            add_metric(f"{self._metric}CircuitOpen")

    def state(self) -> CircuitDecision:
        return self._run("peek")


class MemoryCircuitBreaker:
    """The embedded breaker (no REDIS_URL): the same state machine, within one process."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        window_ms: int = 60_000,
        cooldown_ms: int = 30_000,
        lease_ms: int = 30_000,
        clock_ms: ClockMs | None = None,
        metric_prefix: str = "Provider",
    ) -> None:
        _check(threshold, window_ms, cooldown_ms, lease_ms)
        self._metric = metric_prefix
        self._threshold, self._window, self._cooldown, self._lease = threshold, window_ms, cooldown_ms, lease_ms
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._first_ms = 0
        self._opened_ms = 0
        self._trial_until = 0

    def _decide(self, now: int, *, take: bool) -> CircuitDecision:
        if self._state == "closed":
            return CircuitDecision(allowed=True, state="closed", failures=self._failures)
        if self._state == "open":
            if now - self._opened_ms < self._cooldown:
                left = (self._opened_ms + self._cooldown - now) / 1000
                return CircuitDecision(allowed=False, state="open", retry_after_s=left, failures=self._failures)
            if not take:
                return CircuitDecision(allowed=False, state="half_open", failures=self._failures)
            self._state = "half_open"
        elif now < self._trial_until or not take:
            left = max(self._trial_until - now, 0) / 1000
            return CircuitDecision(allowed=False, state="half_open", retry_after_s=left, failures=self._failures)
        self._trial_until = now + self._lease
        return CircuitDecision(allowed=True, state="half_open", trial=True, failures=self._failures)

    def acquire(self) -> CircuitDecision:
        with self._lock:
            return self._decide(self._clock_ms(), take=True)

    def state(self) -> CircuitDecision:
        with self._lock:
            return self._decide(self._clock_ms(), take=False)

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._first_ms, self._trial_until = "closed", 0, 0, 0

    def trip(self) -> None:
        with self._lock:
            self._state, self._opened_ms, self._trial_until = "open", self._clock_ms(), 0
        add_metric(f"{self._metric}CircuitOpen")

    def record_failure(self) -> None:
        with self._lock:
            now = self._clock_ms()
            if self._state == "half_open":
                self._state, self._opened_ms, self._trial_until = "open", now, 0
            elif self._state == "closed":
                if self._failures == 0 or now - self._first_ms > self._window:
                    self._failures, self._first_ms = 1, now
                else:
                    self._failures += 1
                if self._failures >= self._threshold:
                    self._state, self._opened_ms = "open", now
            opened = self._state == "open"
        if opened:
            add_metric(f"{self._metric}CircuitOpen")
