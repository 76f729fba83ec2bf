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
    second, after which each caller applies its own stated fallback.
    """
    settings = get_settings()
    if settings.redis_url is None:
        return None
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
