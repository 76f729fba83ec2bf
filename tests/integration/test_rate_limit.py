"""Distributed rate limiting on a real Redis: exact across processes, correct headers, stated outage behaviour."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest
from autoindex.ratelimit.limiter import Decision, Limiter, most_restrictive
from autoindex.ratelimit.store import MemoryCounterStore, RedisCounterStore
from autoindex.settings import RateLimitPolicy
from autoindex.web.app import create_app, http_handler
from autoindex.web.ratelimit import enforce_rate_limits
from fastapi import APIRouter, Request
from redis import Redis

from tests.conftest import REDIS_URL, clear_process_caches
from tests.lambda_http import call
from tests.workers import StartGate, race

WORKERS = 4
LIMIT = 25


def _hammer(gate: StartGate, redis_url: str, prefix: str) -> None:
    limiter = Limiter(
        RedisCounterStore(Redis.from_url(redis_url)),
        {"burst": RateLimitPolicy(limit=LIMIT, window_s=1)},
        key_prefix=prefix,
    )
    limiter.hit("burst", f"ip:warm-up-{uuid.uuid4().hex}")  # connected and the script loaded before the race
    stop_at = gate.wait_for_start() + 2.5
    allowed: Counter[int] = Counter()
    decisions = 0
    while time.time() < stop_at:
        decision = limiter.hit("burst", "ip:203.0.113.9")
        decisions += 1
        if decision.allowed:
            assert decision.window_id is not None
            allowed[decision.window_id] += 1
    gate.report((dict(allowed), decisions))


@pytest.mark.slow
def test_four_processes_through_one_redis_get_exactly_the_limit_per_window(redis_client: Redis) -> None:
    # Given four processes hammering one key, from just after a window boundary through 2.5 windows
    prefix = f"rl-test-{uuid.uuid4().hex[:8]}"
    # 50 ms into the window after next, chosen once every worker is connected and waiting
    outcomes = race(_hammer, [(REDIS_URL, prefix)] * WORKERS, start_at=lambda now: int(now) + 1.05)
    per_window: Counter[int] = Counter()
    for allowed, decisions in outcomes:
        per_window.update(allowed)
        assert decisions > LIMIT  # every worker really hammered
    # Then no window ever let one more through, and each full window let exactly the limit through
    assert max(per_window.values()) == LIMIT
    first, last = min(per_window), max(per_window)
    full_windows = [w for w in per_window if first < w < last]
    assert full_windows, per_window
    assert all(per_window[w] == LIMIT for w in full_windows)
    assert per_window[first] == LIMIT  # the run starts 50 ms into its first window and exhausts it


def test_memory_store_counts_exactly_and_resets_with_the_window() -> None:
    limiter = Limiter(MemoryCounterStore(), {"p": RateLimitPolicy(limit=3, window_s=1)})
    time.sleep(1 - time.time() % 1 + 0.01)  # start at a window boundary
    decisions = [limiter.hit("p", "ip:a") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert limiter.hit("p", "ip:b").allowed  # another identity has its own budget
    time.sleep(1.0)
    assert limiter.hit("p", "ip:a").allowed


def _limited_handler(fresh_settings: pytest.MonkeyPatch, policies: str, **env: str) -> Any:
    fresh_settings.setenv("RATE_LIMIT_POLICIES", policies)
    fresh_settings.setenv("RATE_LIMIT_KEY_PREFIX", f"rl-{uuid.uuid4().hex[:8]}")
    for key, value in env.items():
        fresh_settings.setenv(key, value)
    clear_process_caches()
    router = APIRouter()

    @router.get("/v1/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    return http_handler(create_app([router], title="test", rate_limit_policy="default"))


@pytest.mark.usefixtures("steady_minute")
def test_headers_count_down_then_429_with_retry_after(fresh_settings: pytest.MonkeyPatch, redis_client: Redis) -> None:
    handler = _limited_handler(fresh_settings, '{"default": {"limit": 3, "window_s": 60}}')
    results = [call(handler, "GET", "/v1/ping", source_ip="203.0.113.1") for _ in range(4)]
    assert [r.status for r in results] == [200, 200, 200, 429]
    assert results[0].headers["ratelimit-policy"] == '"default";q=3;w=60'
    remaining = [r.headers["ratelimit"].split(";")[1] for r in results[:3]]
    assert remaining == ["r=2", "r=1", "r=0"]
    rejected = results[3]
    assert rejected.headers["content-type"] == "application/problem+json"
    assert 1 <= int(rejected.headers["retry-after"]) <= 60
    assert rejected.json()["policy"] == "default"
    # Another client address has its own budget.
    assert call(handler, "GET", "/v1/ping", source_ip="203.0.113.2").status == 200


@pytest.mark.usefixtures("steady_minute")
def test_forwarded_for_is_ignored_unless_trusted(fresh_settings: pytest.MonkeyPatch, redis_client: Redis) -> None:
    handler = _limited_handler(fresh_settings, '{"default": {"limit": 1, "window_s": 60}}')
    first = call(handler, "GET", "/v1/ping", source_ip="203.0.113.5", headers={"X-Forwarded-For": "10.0.0.1"})
    spoofed = call(handler, "GET", "/v1/ping", source_ip="203.0.113.5", headers={"X-Forwarded-For": "10.0.0.2"})
    assert (first.status, spoofed.status) == (200, 429)

    trusting = _limited_handler(fresh_settings, '{"default": {"limit": 1, "window_s": 60}}', TRUST_FORWARDED_FOR="true")
    proxy = "198.51.100.1"
    a = call(trusting, "GET", "/v1/ping", source_ip=proxy, headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.8"})
    b = call(trusting, "GET", "/v1/ping", source_ip=proxy, headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.9"})
    assert (a.status, b.status) == (200, 200)  # the nearest trusted hop's client, not the proxy, is the key


@pytest.mark.usefixtures("steady_minute")
@pytest.mark.parametrize(("fail_mode", "expected"), [("open", 200), ("closed", 503)])
def test_redis_outage_follows_the_policy_within_the_timeout(
    fresh_settings: pytest.MonkeyPatch, own_redis: tuple[str, Any], fail_mode: str, expected: int
) -> None:
    url, proc = own_redis
    handler = _limited_handler(
        fresh_settings, f'{{"default": {{"limit": 5, "window_s": 60, "fail_mode": "{fail_mode}"}}}}', REDIS_URL=url
    )
    assert call(handler, "GET", "/v1/ping").status == 200
    proc.kill()
    proc.wait()
    started = time.monotonic()
    result = call(handler, "GET", "/v1/ping")
    elapsed = time.monotonic() - started
    assert result.status == expected
    assert elapsed < 1.0
    if expected == 503:
        assert result.headers["content-type"] == "application/problem+json"
        assert "ratelimit" not in result.headers
    else:
        assert result.json() == {"pong": True}
        assert "ratelimit" not in result.headers  # no made-up numbers while degraded


@pytest.mark.usefixtures("steady_minute")
def test_decisions_survive_a_script_cache_flush(redis_client: Redis) -> None:
    # A failover or SCRIPT FLUSH empties the server's script cache; the next decision reloads it.
    limiter = Limiter(RedisCounterStore(redis_client), {"p": RateLimitPolicy(limit=2, window_s=60)}, key_prefix="f")
    assert limiter.hit("p", "ip:a").allowed
    redis_client.script_flush()
    second, third = limiter.hit("p", "ip:a"), limiter.hit("p", "ip:a")
    assert (second.allowed, third.allowed) == (True, False)


# --- several decisions in one round trip (the per-key minute limit and daily quota)

BURST, TOTAL = 25, 40  # per 1-s window, and per 2-s window


def _hammer_all(gate: StartGate, redis_url: str, prefix: str) -> None:
    limiter = Limiter(
        RedisCounterStore(Redis.from_url(redis_url)),
        {"burst": RateLimitPolicy(limit=BURST, window_s=1), "total": RateLimitPolicy(limit=TOTAL, window_s=2)},
        key_prefix=prefix,
    )
    limiter.hit_all([("burst", f"key:warm-up-{uuid.uuid4().hex}")])  # connected and the script loaded
    stop_at = gate.wait_for_start() + 4.5
    allowed: Counter[tuple[str, int]] = Counter()
    while time.time() < stop_at:
        decisions = limiter.hit_all([("burst", "key:k"), ("total", "key:k")])
        if all(d.allowed for d in decisions):  # the request's verdict
            for d in decisions:
                assert d.window_id is not None
                allowed[(d.policy, d.window_id)] += 1
    gate.report(dict(allowed))


@pytest.mark.slow
def test_four_processes_get_exactly_every_budget_of_a_combined_decision(redis_client: Redis) -> None:
    # Given four processes making a 1-s and a 2-s decision together, from just after a 2-s boundary for 4.5 s
    prefix = f"rl-test-{uuid.uuid4().hex[:8]}"
    # 50 ms into a 2-s window at least 2 s away
    outcomes = race(_hammer_all, [(REDIS_URL, prefix)] * WORKERS, start_at=lambda now: (int(now) // 2 + 2) * 2 + 0.05)
    allowed: Counter[tuple[str, int]] = Counter()
    for outcome in outcomes:
        allowed.update(outcome)
    burst = {w: n for (p, w), n in allowed.items() if p == "burst"}
    total = {w: n for (p, w), n in allowed.items() if p == "total"}
    # Then no window of either policy ever let one more through
    assert max(burst.values()) <= BURST and max(total.values()) <= TOTAL
    # and each full 2-s window let exactly its total through: 25 in its first second, the other 15 in its second
    full = sorted(total)[:2]
    assert [total[w] for w in full] == [TOTAL, TOTAL], total
    assert [(burst[2 * w], burst[2 * w + 1]) for w in full] == [(BURST, TOTAL - BURST)] * 2, burst


@pytest.mark.usefixtures("steady_minute")
@pytest.mark.parametrize("store", ["redis", "memory"])
def test_a_combined_decision_counts_in_every_budget_or_in_none(redis_client: Redis, store: str) -> None:
    counters = RedisCounterStore(redis_client) if store == "redis" else MemoryCounterStore()
    limiter = Limiter(
        counters,
        {"minute": RateLimitPolicy(limit=3, window_s=60), "day": RateLimitPolicy(limit=5, window_s=86_400)},
        key_prefix=f"m-{uuid.uuid4().hex[:6]}",
    )
    checks = [("minute", "key:a"), ("day", "key:a")]
    first = [limiter.hit_all(checks) for _ in range(4)]
    # Each decision is its own policy's verdict; the request passes only if all of them allow it
    assert [[d.allowed for d in ds] for ds in first] == [[True, True]] * 3 + [[False, True]]
    assert [[d.remaining for d in ds] for ds in first] == [[2, 4], [1, 3], [0, 2], [0, 2]]
    # The refusal by the minute policy spent none of the day's quota: 2 are left for another minute's key
    day_only = [limiter.hit_all([("day", "key:a")]) for _ in range(3)]
    assert [ds[0].allowed for ds in day_only] == [True, True, False]
    assert [ds[0].remaining for ds in day_only] == [1, 0, 0]


def test_the_most_restrictive_decision_is_reported() -> None:
    def decision(policy: str, limit: int, remaining: int, reset_s: int, *, allowed: bool = True) -> Decision:
        return Decision(policy, limit, 60, allowed, remaining, reset_s)

    minute, day = decision("api_key", 600, 599, 30), decision("api_key_daily", 10_000, 9_000, 80_000)
    assert most_restrictive([minute, day]) is minute  # fewer requests left, whatever the fraction
    low_day = decision("api_key_daily", 10_000, 10, 80_000)
    assert most_restrictive([minute, low_day]) is low_day
    refused_minute = decision("api_key", 600, 0, 30, allowed=False)
    refused_day = decision("api_key_daily", 10_000, 0, 80_000, allowed=False)
    assert most_restrictive([refused_minute, day]) is refused_minute
    assert most_restrictive([refused_minute, refused_day]) is refused_day  # retry when both have room


def _two_policy_handler(fresh_settings: pytest.MonkeyPatch, policies: str, **env: str) -> Any:
    fresh_settings.setenv("RATE_LIMIT_POLICIES", policies)
    fresh_settings.setenv("RATE_LIMIT_KEY_PREFIX", f"rl-{uuid.uuid4().hex[:8]}")
    for key, value in env.items():
        fresh_settings.setenv(key, value)
    clear_process_caches()
    router = APIRouter()

    @router.get("/v1/ping")
    def ping(request: Request) -> dict[str, bool]:
        enforce_rate_limits(request, [("quick", "key:k"), ("slow", "key:k")])
        return {"pong": True}

    return http_handler(create_app([router], title="test", rate_limit_policy=None))


@pytest.mark.usefixtures("steady_minute")
def test_combined_headers_report_the_most_restrictive_then_the_refusal(
    fresh_settings: pytest.MonkeyPatch, redis_client: Redis
) -> None:
    handler = _two_policy_handler(
        fresh_settings, '{"quick": {"limit": 3, "window_s": 60}, "slow": {"limit": 4, "window_s": 3600}}'
    )
    results = [call(handler, "GET", "/v1/ping") for _ in range(4)]
    assert [r.status for r in results] == [200, 200, 200, 429]
    # quick has fewer left (2 < 3, 1 < 2, 0 < 1): it is the one reported
    assert [r.headers["ratelimit"].split(";")[:2] for r in results[:3]] == [
        ['"quick"', "r=2"],
        ['"quick"', "r=1"],
        ['"quick"', "r=0"],
    ]
    assert results[0].headers["ratelimit-policy"] == '"quick";q=3;w=60'
    assert results[3].json()["policy"] == "quick"
    assert 1 <= int(results[3].headers["retry-after"]) <= 60


@pytest.mark.usefixtures("steady_minute")
@pytest.mark.parametrize(("slow_mode", "expected"), [("open", 200), ("closed", 503)])
def test_a_combined_decision_fails_closed_if_any_policy_does(
    fresh_settings: pytest.MonkeyPatch, own_redis: tuple[str, Any], slow_mode: str, expected: int
) -> None:
    url, proc = own_redis
    policies = (
        '{"quick": {"limit": 5, "window_s": 60, "fail_mode": "open"},'
        f' "slow": {{"limit": 5, "window_s": 60, "fail_mode": "{slow_mode}"}}}}'
    )
    handler = _two_policy_handler(fresh_settings, policies, REDIS_URL=url)
    assert call(handler, "GET", "/v1/ping").status == 200
    proc.kill()
    proc.wait()
    result = call(handler, "GET", "/v1/ping")
    assert result.status == expected
    assert "ratelimit" not in result.headers


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_given_back_hit_frees_its_place_in_the_window(store: str, redis_client: Redis) -> None:
    counter = MemoryCounterStore() if store == "memory" else RedisCounterStore(redis_client)
    limiter = Limiter(counter, {"p": RateLimitPolicy(limit=2, window_s=3600)}, key_prefix=f"g-{uuid.uuid4().hex[:6]}")
    checks = [("p", "email:a@example.com")]
    first = limiter.hit_all(checks)
    assert limiter.hit_all(checks)[0].allowed
    assert not limiter.hit_all(checks)[0].allowed  # full
    limiter.release_all(checks, first)  # the first attempt succeeded after all
    assert limiter.hit_all(checks)[0].allowed
    assert not limiter.hit_all(checks)[0].allowed
