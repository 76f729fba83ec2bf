"""The rate limiter on a real Redis Cluster: exact across processes, one slot per decision, stated outage behaviour."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from autoindex.errors import ServiceUnavailable
from autoindex.ratelimit.limiter import Limiter
from autoindex.ratelimit.store import RedisCounterStore
from autoindex.settings import RateLimitPolicy
from redis import Redis
from redis.crc import key_slot

from tests.cluster.conftest import CLUSTER_URL, cluster_client
from tests.workers import StartGate, race

WORKERS = 4
LIMIT = 25
POLICIES = {"burst": RateLimitPolicy(limit=LIMIT, window_s=1), "total": RateLimitPolicy(limit=10_000, window_s=60)}


def _hammer(gate: StartGate, url: str, prefix: str) -> None:
    limiter = Limiter(RedisCounterStore(cluster_client(url)), POLICIES, key_prefix=prefix)
    limiter.hit_all([("burst", f"key:warm-up-{uuid.uuid4().hex}")])  # slot map known, script loaded
    begin = gate.wait_for_start()
    allowed: Counter[int] = Counter()
    decisions = 0
    while time.time() < begin + 2.5:
        burst, _ = limiter.hit_all([("burst", "key:k"), ("total", "key:k")])  # two budgets, one decision
        decisions += 1
        if burst.allowed:
            assert burst.window_id is not None
            allowed[burst.window_id] += 1
    gate.report((dict(allowed), decisions))


@pytest.mark.slow
def test_four_processes_through_the_cluster_get_exactly_the_limit_per_window(prefix: str) -> None:
    # 50 ms into the window after next, chosen once every worker is connected and waiting
    outcomes = race(_hammer, [(CLUSTER_URL, prefix)] * WORKERS, start_at=lambda now: int(now) + 1.05)
    per_window: Counter[int] = Counter()
    for allowed, decisions in outcomes:
        per_window.update(allowed)
        assert decisions > LIMIT
    assert max(per_window.values()) == LIMIT
    first, last = min(per_window), max(per_window)
    full = [w for w in per_window if first < w < last]
    assert full and all(per_window[w] == LIMIT for w in full), per_window


def test_a_decision_about_two_identities_runs_in_one_slot(cluster: Redis, prefix: str) -> None:
    # Login counts per address and per account in one decision: one hash tag keeps both in one slot.
    limiter = Limiter(RedisCounterStore(cluster), {"login": RateLimitPolicy(limit=2, window_s=300)}, key_prefix=prefix)
    checks = [("login", "ip:203.0.113.5"), ("login", "email:a@example.com")]
    first = limiter.hit_all(checks, slot="login")
    assert [d.allowed for d in first] == [True, True]
    assert [d.allowed for d in limiter.hit_all(checks, slot="login")] == [True, True]
    assert [d.allowed for d in limiter.hit_all(checks, slot="login")] == [False, False]
    limiter.release_all(checks, first, slot="login")  # a successful login gives its hit back
    assert [d.remaining for d in limiter.hit_all(checks, slot="login")] == [0, 0]
    with pytest.raises(ValueError, match="slot"):
        limiter.hit_all(checks)  # several identities without a slot would span slots


def test_keys_of_one_identity_share_a_slot_and_identities_spread(cluster: Redis, prefix: str) -> None:
    limiter = Limiter(RedisCounterStore(cluster), POLICIES, key_prefix=prefix)
    for n in range(30):
        limiter.hit_all([("burst", f"user:{n}"), ("total", f"user:{n}")])
    keys = list(cluster.scan_iter(match=f"*{prefix}*"))
    assert len(keys) == 60
    slots_by_identity: dict[str, set[int]] = {}
    for key in keys:
        identity = key.decode().split("}")[0]
        slots_by_identity.setdefault(identity, set()).add(key_slot(key))
    assert all(len(slots) == 1 for slots in slots_by_identity.values())
    # The load is spread over every primary (three equal slot ranges), not one hot slot.
    assert {key_slot(key) * 3 // 16_384 for key in keys} == {0, 1, 2}


def test_a_plain_client_on_a_cluster_counts_as_store_down(cluster_url: str, prefix: str) -> None:
    # A non-cluster client gets MOVED for keys of other nodes: open policies pass, closed ones give 503.
    plain = Redis.from_url(cluster_url)
    policies = {
        "open": RateLimitPolicy(limit=5, window_s=60),
        "closed": RateLimitPolicy(limit=5, window_s=60, fail_mode="closed"),
    }
    limiter = Limiter(RedisCounterStore(plain), policies, key_prefix=prefix)
    moved = [f"user:{n}" for n in range(20)]
    degraded = [limiter.hit("open", identity) for identity in moved]
    assert any(d.degraded and d.allowed for d in degraded)  # some keys live on other nodes
    elsewhere = next(identity for identity, d in zip(moved, degraded, strict=True) if d.degraded)
    with pytest.raises(ServiceUnavailable):
        limiter.hit("closed", elsewhere)
