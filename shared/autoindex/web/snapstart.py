"""SnapStart: what must not survive in a snapshot, and what a restored copy must do first.

A SnapStart function is initialised once, frozen, and restored many times. Connections opened
before the snapshot (PostgreSQL, Redis, the provider's HTTP pool) would be shared, dead sockets in
every copy, and Python's ``random`` would produce the same sequence in all of them. The Lambda
runtime calls the hooks registered here through its ``snapshot_restore_py`` module; elsewhere the
module is absent and nothing is registered.
"""

from __future__ import annotations

import os
import random

from autoindex.observability import logger

_registered = False


def forget_connections() -> None:
    """Close every pooled connection and forget the clients built on them; the next use opens new ones."""
    from autoindex.clients import get_redis
    from autoindex.db.engine import dispose_engines
    from autoindex.market.providers.factory import clear_provider_caches
    from autoindex.ratelimit.limiter import get_limiter

    dispose_engines()
    clear_provider_caches()
    if get_redis.cache_info().currsize:
        client = get_redis()
        if client is not None:
            client.close()
    for cached in (get_redis, get_limiter):  # the principal cache follows the Redis client it is built on
        cached.cache_clear()


def after_restore() -> None:
    """A restored copy: fresh connections and its own random sequence."""
    forget_connections()
    random.seed(os.urandom(32))  # `secrets` and uuid4 read os.urandom already; `random` kept the snapshot's state
    logger.info("restored from a snapshot: connections reopened on first use, random reseeded")


def register_hooks() -> bool:
    """Register the hooks with the Lambda runtime once per process; False where there is no runtime to call them."""
    global _registered  # noqa: PLW0603 - one registration per process, like the runtime's registry
    if _registered:
        return True
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(forget_connections)
    register_after_restore(after_restore)
    _registered = True
    return True
