"""The circuit breaker: the same state machine in memory and in Redis, and shared by every instance."""

from __future__ import annotations

import pytest
from autoindex.market.providers.circuit import CircuitBreaker, MemoryCircuitBreaker, RedisCircuitBreaker
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.circuit_timing import Timing
from tests.conftest import REDIS_URL


class MsClock:
    def __init__(self) -> None:
        self.ms = 1_710_342_000_000  # 2024-03-13 15:00 UTC

    def __call__(self) -> int:
        return self.ms


TIMING: Timing = {"threshold": 3, "window_ms": 10_000, "cooldown_ms": 5_000, "lease_ms": 2_000}


def _breaker(kind: str, redis: Redis, key: str, clock: MsClock) -> CircuitBreaker:
    if kind == "redis":
        return RedisCircuitBreaker(redis, key=key, clock_ms=clock, **TIMING)
    return MemoryCircuitBreaker(clock_ms=clock, **TIMING)


def test_an_open_circuit_is_seen_by_every_instance(key_prefix: str) -> None:
    # Two "containers", each with its own Redis connection and breaker object.
    first_client, second_client = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    clock = MsClock()
    key = f"{key_prefix}:circuit"
    first = RedisCircuitBreaker(first_client, key=key, clock_ms=clock, **TIMING)
    second = RedisCircuitBreaker(second_client, key=key, clock_ms=clock, **TIMING)
    try:
        for _ in range(3):
            assert first.acquire().allowed
            first.record_failure()
        seen = second.acquire()
        assert not seen.allowed and seen.state == "open" and seen.retry_after_s == pytest.approx(5.0)
        clock.ms += 5_000
        trial = second.acquire()
        assert trial.allowed and trial.trial and trial.state == "half_open"
        assert not first.acquire().allowed  # only one trial call, whoever asks
        second.record_success()
        assert first.acquire().allowed and first.state().state == "closed"
    finally:
        first_client.close()
        second_client.close()


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_state_machine(redis: Redis, key_prefix: str, kind: str) -> None:
    clock = MsClock()
    breaker = _breaker(kind, redis, f"{key_prefix}:circuit", clock)
    # Failures must be consecutive: a success starts the count again.
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.acquire().allowed
    # ...and within the window: the next one starts a new count rather than opening.
    clock.ms += 10_001
    breaker.record_failure()
    assert breaker.state().failures == 1 and breaker.acquire().allowed
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state().state == "open" and not breaker.acquire().allowed
    # Half-open: a failed trial opens it again for a whole cooldown.
    clock.ms += 5_000
    assert breaker.state().state == "half_open"
    assert breaker.acquire().trial
    breaker.record_failure()
    refused = breaker.acquire()
    assert refused.state == "open" and refused.retry_after_s == pytest.approx(5.0)
    # A trial caller that never reports back frees its lease.
    clock.ms += 5_000
    assert breaker.acquire().trial
    assert not breaker.acquire().allowed
    clock.ms += 2_000
    assert breaker.acquire().trial
    breaker.record_success()
    assert breaker.acquire() == breaker.state()
    assert breaker.state().state == "closed"


def test_a_breaker_without_redis_fails_open() -> None:
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    breaker = RedisCircuitBreaker(down)
    decision = breaker.acquire()
    assert decision.allowed and decision.state == "unknown"
    breaker.record_failure()  # does not raise


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_a_trip_opens_the_circuit_at_once_for_a_whole_cooldown(redis: Redis, key_prefix: str, kind: str) -> None:
    clock = MsClock()
    breaker = _breaker(kind, redis, f"{key_prefix}:circuit", clock)
    assert breaker.acquire().allowed
    breaker.trip()  # one throttle answer, no failures counted: open now (SEC asks for ten minutes away)
    refused = breaker.acquire()
    assert not refused.allowed and refused.state == "open" and refused.retry_after_s == pytest.approx(5.0)
    clock.ms += 4_999
    assert not breaker.acquire().allowed
    clock.ms += 1
    trial = breaker.acquire()
    assert trial.allowed and trial.trial
    breaker.trip()  # throttled again on the trial: another whole cooldown
    assert breaker.acquire().retry_after_s == pytest.approx(5.0)
