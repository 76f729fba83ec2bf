"""SEC's ticker → CIK map, kept for a few days so resolving CIKs costs at most one request per period.

SEC's reference suggests caching ``company_tickers.json`` by time, in days. The weekly share-count job
reads it here first and fetches (then stores) it only when it is missing or expired; an admin adding a
stock reads it here and never asks SEC (a request path does not wait on a 0.8 MB download).

Where: a Redis hash ``{<PROVIDER_KEY_PREFIX>:edgar}:tickers`` (ticker → CIK, plus a marker field saying
when it was fetched) expiring after ``EDGAR_TICKER_MAP_TTL_H``; without REDIS_URL, this process's memory.
A new map is written under a private key and renamed over the old one (one slot, by its hash tag), so
a reader sees the old map or the new one, never half of one. Redis out of reach reads as "not cached"
(the job fetches the map; an admin's add leaves the CIK to the job) and a failed store is only logged.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from autoindex.observability import add_metric, logger

if TYPE_CHECKING:
    from redis import Redis

# Not a ticker (a field no normalised ticker can equal): present exactly when a whole map is stored.
_FETCHED = "~fetched_ms"


class TickerCache(Protocol):
    def lookup(self, tickers: Sequence[str]) -> dict[str, int | None] | None:
        """Each normalised ticker's CIK (None: absent from the map), or None when no map is cached."""
        ...

    def store(self, mapping: Mapping[str, int]) -> None:
        """Replace the cached map with ``mapping`` (normalised ticker → CIK), as one whole."""
        ...


class RedisTickerCache:
    """The map in one Redis hash shared by every process; see the module docstring."""

    def __init__(self, client: Redis, *, key: str, ttl_s: int) -> None:
        if "{" not in key:
            raise ValueError("the ticker map key needs a hash tag, so its rename stays within one cluster slot")
        self._client, self._key, self._ttl_ms = client, key, ttl_s * 1000
        from autoindex.redis_scripts import redis_unavailable_errors

        self._down = redis_unavailable_errors()

    def lookup(self, tickers: Sequence[str]) -> dict[str, int | None] | None:
        try:
            values = self._client.hmget(self._key, [_FETCHED, *tickers])
        except self._down as exc:
            add_metric("EdgarTickerCacheUnavailable")
            logger.warning("ticker map cache unavailable; treated as empty", extra={"error": type(exc).__name__})
            return None
        if values[0] is None:
            return None
        return {t: None if v is None else int(v) for t, v in zip(tickers, values[1:], strict=True)}

    def store(self, mapping: Mapping[str, int]) -> None:
        # The key's hash tag is the prefix up to its closing brace: the private key shares its slot.
        tag = self._key[: self._key.index("}") + 1]
        staging = f"{tag}:tickers-new:{uuid.uuid4().hex}"
        fields: dict[str, int] = {**mapping, _FETCHED: time.time_ns() // 1_000_000}
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.hset(staging, mapping=fields)  # type: ignore[arg-type]
            pipe.pexpire(staging, self._ttl_ms)
            pipe.execute()
            # Not in the pipeline: a cluster pipeline refuses RENAME. Both keys carry one hash tag, so one node.
            self._client.rename(staging, self._key)
        except self._down as exc:
            add_metric("EdgarTickerCacheUnavailable")
            logger.warning("ticker map not cached; the next run fetches it", extra={"error": type(exc).__name__})


class MemoryTickerCache:
    """The embedded mode's cache (no REDIS_URL): the same contract, in this process."""

    def __init__(self, *, ttl_s: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._clock = ttl_s, clock
        self._lock = threading.Lock()
        self._map: dict[str, int] | None = None
        self._expires = 0.0

    def lookup(self, tickers: Sequence[str]) -> dict[str, int | None] | None:
        with self._lock:
            if self._map is None or self._clock() >= self._expires:
                return None
            return {t: self._map.get(t) for t in tickers}

    def store(self, mapping: Mapping[str, int]) -> None:
        with self._lock:
            self._map, self._expires = dict(mapping), self._clock() + self._ttl_s


_memory: dict[int, MemoryTickerCache] = {}


def ticker_cache_from_settings() -> TickerCache:
    """The configured cache: Redis when REDIS_URL is set, else one per process (and TTL)."""
    from autoindex.clients import get_redis
    from autoindex.settings import get_settings

    settings = get_settings()
    ttl_s = settings.edgar_ticker_map_ttl_h * 3600
    client = get_redis()
    if client is None:
        return _memory.setdefault(ttl_s, MemoryTickerCache(ttl_s=ttl_s))
    return RedisTickerCache(client, key=f"{{{settings.provider_key_prefix}:edgar}}:tickers", ttl_s=ttl_s)
