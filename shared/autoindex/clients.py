"""Process-wide clients, built on first use and reused by every invocation of a warm container."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from autoindex.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis


@functools.cache
def get_redis() -> Redis | None:
    """The ElastiCache/Redis client, or None in the embedded mode (no REDIS_URL).

    Timeouts are short and retries off: a dead Redis must cost a request a fraction of a
    second, after which each caller applies its own stated fallback. With ``REDIS_CLUSTER=true``
    it is a ``RedisCluster`` client (see :func:`_cluster_client`).
    """
    settings = get_settings()
    if settings.redis_url is None:
        return None
    if settings.redis_cluster:
        return _cluster_client()
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        decode_responses=False,
    )


def _cluster_client() -> Redis:
    """A ``RedisCluster`` client: it learns the slot map from the URL's node and sends each command
    to the node owning its keys. Every script and multi-key command of the product keeps its keys in
    one slot (hash tags), so nothing needs a cross-slot operation.

    Typed as ``Redis``: it offers the same commands (and pipelines) that callers use, which is all
    they rely on. A redirect beyond the slot map it knows, or a cluster that is down, raises a
    ``RedisClusterException``/``ResponseError`` subclass that callers count as "store unavailable".
    """
    from typing import cast

    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    settings = get_settings()
    assert settings.redis_url is not None  # checked by the caller
    client = RedisCluster.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        health_check_interval=30,
        decode_responses=False,
        retry=Retry(NoBackoff(), 1),  # one retry after a slot map refresh (MOVED, failover); no more than that
    )
    return cast("Redis", client)
