"""EDGAR's pace on a real Redis Cluster: one pace for every process, in the slot of EDGAR's other keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from autoindex.ratelimit.pace import LocalPace, SharedPace
from autoindex_dev.fake_edgar import FakeEdgar
from redis.crc import key_slot

from tests.cluster.conftest import cluster_client
from tests.conftest import clear_process_caches
from tests.edgar_workers import EACH, arrivals, ask_edgar, busiest_second, container_ciks, ran_together
from tests.workers import race

MAX_RPS = 4
CONTAINERS = 3


@pytest.fixture
def edgar(on_cluster: str, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEdgar]:
    """The fake EDGAR as the product's source, with Redis the cluster and EDGAR's keys this test's own."""
    with FakeEdgar() as server:
        monkeypatch.setenv("PROVIDER_KEY_PREFIX", f"{prefix}-pv")
        monkeypatch.setenv("SHARE_COUNT_SOURCE", "edgar")
        monkeypatch.setenv("EDGAR_BASE_URL", server.url)
        monkeypatch.setenv("EDGAR_USER_AGENT", "AutoIndex tests ops@example.com")
        monkeypatch.setenv("EDGAR_MAX_RPS", str(MAX_RPS))
        clear_process_caches()
        yield server


def test_the_pace_is_one_for_every_client_of_the_cluster(on_cluster: str, prefix: str) -> None:
    key = f"{{{prefix}-pv:edgar}}:pace"
    assert key_slot(key.encode()) == key_slot(f"{{{prefix}-pv:edgar}}:circuit".encode())  # the script's one slot
    now_ms = 1_710_342_000_000
    first, second = (
        SharedPace(
            cluster_client(on_cluster), key=key, rps=MAX_RPS, fallback=LocalPace(MAX_RPS), clock_ms=lambda: now_ms
        )
        for _ in range(2)
    )
    waits = [(first if n % 2 == 0 else second).reserve() for n in range(6)]
    assert waits == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.1, 1.35])


@pytest.mark.slow
def test_containers_asking_at_once_through_the_cluster_keep_to_edgar_max_rps(edgar: FakeEdgar) -> None:
    outcomes = race(ask_edgar, [(container_ciks(c),) for c in range(CONTAINERS)], start_at=lambda now: now + 0.2)
    assert outcomes == [[None] * EACH] * CONTAINERS  # every request answered (404: no facts)
    seen = arrivals(edgar)
    assert len(seen) == CONTAINERS * EACH and ran_together(edgar, CONTAINERS)
    assert busiest_second(seen) <= MAX_RPS
