"""The principal cache, the read cache, the credit budget and the circuit breaker on a real Redis Cluster,
through the product's own client (``REDIS_CLUSTER=true``)."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from autoindex.clients import get_redis
from autoindex.identity.principal_cache import KeyFacts, UserFacts, get_principal_cache
from autoindex.index import read_cache
from autoindex.market.providers.budget import RedisCreditBudget
from autoindex.market.providers.circuit import RedisCircuitBreaker
from autoindex.market.providers.errors import BudgetUnavailable
from pydantic import BaseModel
from redis import Redis
from redis.cluster import RedisCluster

from tests.circuit_timing import Timing
from tests.cluster.conftest import CLUSTER_URL, cluster_client


def test_the_product_builds_a_cluster_client(on_cluster: str) -> None:
    assert isinstance(get_redis(), RedisCluster)


def test_principal_cache_user_session_and_key(on_cluster: str) -> None:
    cache = get_principal_cache()
    user, session, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put_user(UserFacts(user_id=user, email="a@example.com", role="user", active=True))
    cache.put_session(user, session)
    facts, live = cache.user_and_session(user, session)  # one MGET: user and session share a slot
    assert facts is not None and facts.role == "user" and live
    assert cache.user_and_session(user, other)[1] is False
    cache.invalidate_sessions(user, [session])  # logout: held, so the next read goes to the database
    assert cache.user_and_session(user, session)[1] is False
    cache.put_session(user, session)  # a late writer cannot revive it
    assert cache.user_and_session(user, session)[1] is False
    key = KeyFacts(
        key_id=uuid.uuid4(),
        secret_hmac="h" * 64,
        owner_id=user,
        owner_email="a@example.com",
        owner_role="user",
        owner_active=True,
        scopes=("read",),
        expires_at=None,
        revoked=False,
        last_used_at=time.time(),
    )
    cache.put_api_key(key)
    assert cache.api_key(key.key_id, key.secret_hmac) == key
    assert cache.api_key(key.key_id, "x" * 64) is None  # a wrong secret misses
    cache.invalidate_api_key(key.key_id, key.secret_hmac)
    assert cache.api_key(key.key_id, key.secret_hmac) is None


class Body(BaseModel):
    version: int


def test_read_cache_hits_publishes_and_counts_entries_on_every_node(on_cluster: str) -> None:
    loads: list[int] = []

    def load(version: int) -> tuple[str, BaseModel]:
        loads.append(version)
        return read_cache.version_token(version, datetime(2026, 11, 2, 21, 30 + version, tzinfo=UTC)), Body(
            version=version
        )

    first = read_cache.read_through("index.history", {"n": 1}, lambda: load(1))
    read_cache.local_store.clear()  # as another container: the entry comes from Redis, not this process
    again = read_cache.read_through("index.history", {"n": 1}, lambda: load(1))
    assert not first.hit and again.hit and again.body == first.body and loads == [1]
    for n in range(2, 12):
        read_cache.read_through("index.history", {"n": n}, lambda: load(1))
    read_cache.publish_version(read_cache.version_token(2, datetime(2026, 11, 2, 21, 32, tzinfo=UTC)))
    newer = read_cache.read_through("index.history", {"n": 1}, lambda: load(2))
    assert not newer.hit and newer.body == b'{"version":2}'
    state = read_cache.state()
    assert state.backend == "redis" and state.reachable and state.entries_current == 1


def _reserve_loop(url: str, prefix: str, go: Any, start_at: Any, results: Any) -> None:
    client = cluster_client(url)
    budget = RedisCreditBudget(
        client, minute_limit=8, day_limit=1_000_000, key_prefix=prefix, window_ms=400, guard_ms=0
    )
    budget.usage()
    results.put("ready")
    go.wait(timeout=120)
    granted: Counter[int] = Counter()
    while time.time() < start_at.value:
        time.sleep(0.001)
    while time.time() < start_at.value + 1.96:
        reservation = budget.reserve(1)
        if reservation.granted:
            granted[reservation.usage.window_id] += 1
    results.put(dict(granted))


@pytest.mark.slow
def test_credit_budget_is_exact_across_processes_on_the_cluster(prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    results, go, start_at = ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_reserve_loop, args=(CLUSTER_URL, prefix, go, start_at, results)) for _ in range(3)]
    for proc in procs:
        proc.start()
    assert [results.get(timeout=120) for _ in procs] == ["ready"] * 3
    start_at.value = (int(time.time() * 1000 / 400) + 2) * 0.4 + 0.02
    go.set()
    per_window: Counter[int] = Counter()
    for _ in procs:
        per_window.update(results.get(timeout=60))
    for proc in procs:
        proc.join(timeout=10)
        assert proc.exitcode == 0
    assert max(per_window.values()) == 8 and len(per_window) >= 5, per_window


def test_credit_budget_minute_day_and_exhaust(cluster: Redis, prefix: str) -> None:
    clock = [int(datetime(2024, 3, 13, 23, 59, 50, tzinfo=UTC).timestamp() * 1000)]
    budget = RedisCreditBudget(
        cluster, minute_limit=8, day_limit=5, key_prefix=prefix, guard_ms=0, clock_ms=lambda: clock[0]
    )
    assert budget.reserve(3).granted and budget.reserve(2).granted
    assert budget.reserve(1).day_exhausted
    clock[0] += 10_000  # the UTC day turns
    assert budget.reserve(1).granted
    budget.exhaust("minute")
    assert budget.usage().minute_used == 8 and not budget.reserve(1).granted


def test_a_plain_client_on_a_cluster_refuses_the_budget(cluster_url: str) -> None:
    # MOVED from a node that does not own the budget's slot: "unavailable", never a call past the budget.
    plain = Redis.from_url(cluster_url)
    for n in range(20):
        budget = RedisCreditBudget(plain, minute_limit=8, day_limit=800, key_prefix=f"moved-{n}")
        try:
            budget.usage()
        except BudgetUnavailable:
            return
    pytest.fail("every budget key landed on the one node the plain client talks to")


def test_circuit_breaker_on_the_cluster_is_shared(cluster_url: str, prefix: str) -> None:
    clock = [1_710_342_000_000]
    timing: Timing = {"threshold": 2, "window_ms": 10_000, "cooldown_ms": 5_000, "lease_ms": 2_000}
    first, second = cluster_client(cluster_url), cluster_client(cluster_url)
    a = RedisCircuitBreaker(first, key=f"{prefix}:circuit", clock_ms=lambda: clock[0], **timing)
    b = RedisCircuitBreaker(second, key=f"{prefix}:circuit", clock_ms=lambda: clock[0], **timing)
    a.record_failure()
    a.record_failure()
    assert b.acquire().state == "open"
    clock[0] += 5_000
    assert b.acquire().trial and not a.acquire().allowed
    b.record_success()
    assert a.acquire().allowed and a.state().state == "closed"


def test_edgars_circuit_and_ticker_map_on_the_cluster(
    on_cluster: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EDGAR's keys share one hash tag: the map's rename stays in its slot, and a trip is seen by another client."""
    from autoindex.market.edgar_client import EdgarCircuitOpen
    from autoindex.market.share_counts import cache_from_settings, source_from_settings
    from autoindex.market.ticker_cache import RedisTickerCache

    from tests.conftest import clear_process_caches

    monkeypatch.setenv("PROVIDER_KEY_PREFIX", f"{prefix}-pv")
    monkeypatch.setenv("SHARE_COUNT_SOURCE", "edgar")
    monkeypatch.setenv("EDGAR_BASE_URL", "http://127.0.0.1:9")  # nothing listens: an open circuit must not even try
    monkeypatch.setenv("EDGAR_USER_AGENT", "AutoIndex tests ops@example.com")
    clear_process_caches()
    cache = cache_from_settings()
    assert isinstance(cache, RedisTickerCache) and cache.lookup(["AAPL"]) is None
    cache.store({"AAPL": 320193, "BRK-B": 1067983})
    cache.store({"AAPL": 320193, "BRK-B": 1067983, "NFLX": 1065280})  # replaced whole, over the old one
    assert cache.lookup(["AAPL", "NFLX", "TLT"]) == {"AAPL": 320193, "NFLX": 1065280, "TLT": None}
    ours = source_from_settings()
    theirs = RedisCircuitBreaker(cluster_client(on_cluster), key=f"{{{prefix}-pv:edgar}}:circuit")
    theirs.trip()  # another container met SEC's throttle
    with pytest.raises(EdgarCircuitOpen):
        ours.company_tickers()
