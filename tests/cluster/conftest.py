"""The Redis Cluster tier: a real 3-node cluster (``bash infra/redis-cluster.sh start``), named by
``TEST_REDIS_CLUSTER_URL``. ``.ci/run`` starts one; elsewhere, without the variable, these tests are
skipped with a message saying how to run them (in CI a missing cluster is a failure, never a skip).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import cast

import pytest
from redis import Redis
from redis.cluster import RedisCluster

from tests.conftest import clear_process_caches

CLUSTER_URL = os.environ.get("TEST_REDIS_CLUSTER_URL", "")


def cluster_client(url: str = CLUSTER_URL) -> Redis:
    """A cluster client, typed as the product types it (``autoindex.clients``): same commands as ``Redis``."""
    return cast("Redis", RedisCluster.from_url(url, socket_timeout=2))


@pytest.fixture(scope="session")
def cluster_url() -> str:
    if not CLUSTER_URL:
        message = (
            "TEST_REDIS_CLUSTER_URL is not set: start a cluster with `bash infra/redis-cluster.sh start` "
            "and export the URL it prints to run the Redis Cluster tests"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CLUSTER_URL


@pytest.fixture
def cluster(cluster_url: str) -> Iterator[Redis]:
    client = cluster_client(cluster_url)
    yield client
    client.close()


@pytest.fixture
def prefix(cluster: Redis) -> Iterator[str]:
    """A fresh key namespace for one test; its keys (on every node) are deleted afterwards."""
    name = f"cl-{uuid.uuid4().hex[:10]}"
    yield name
    for key in cluster.scan_iter(match=f"*{name}*"):
        cluster.delete(key)


@pytest.fixture
def on_cluster(cluster_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The product configured as in AWS with ``REDIS_CLUSTER=true``; its key prefixes are this test's own."""
    monkeypatch.setenv("REDIS_URL", cluster_url)
    monkeypatch.setenv("REDIS_CLUSTER", "true")
    monkeypatch.setenv("RATE_LIMIT_KEY_PREFIX", f"{prefix}-rl")
    monkeypatch.setenv("PRINCIPAL_CACHE_PREFIX", f"{prefix}-pc")
    monkeypatch.setenv("INDEX_CACHE_PREFIX", f"{prefix}-ix")
    clear_process_caches()
    yield cluster_url
    monkeypatch.undo()
    clear_process_caches()
