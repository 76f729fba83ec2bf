"""The read cache of the index API, keyed by the data version: a new compute invalidates by construction.

An entry's key holds the data version it was built from (``ix:v42-<stamp>:index.history:<digest>``), so
nothing is ever deleted on a change: the compute job bumps the version, readers ask for keys of the
new version, and the old entries age out (``CACHE_TTL_S``). The current version itself is kept in
Redis for ``INDEX_CACHE_VERSION_TTL_S`` (set by the compute job and the warmer, never lowered by
them). Entries never change once written (their key names the version), so each container keeps
a bounded in-process copy of the ones it has served: a hit costs one small Redis ``GET`` of the
current version (read in the authentication's round trip, ``autoindex.redis_prefetch``, when the
caller is cached) and no transfer of the body, and a new version still takes effect on the very next
request. A body this container has not seen yet costs a second ``GET``; neither touches the
database. A miss reads the version and the data from one database snapshot and stores the body
under *that* version, so a lagging replica can never file old numbers under a new version.
The version token is the data version plus the time of its publication, and the newest publication
wins, so a database restored to an earlier version (or a fresh test database) never meets entries
another history left behind.

With no ``REDIS_URL`` the same logic runs on an in-process LRU. When Redis fails, reads go to the
database (a warning and a ``CacheUnavailable`` metric), never to an error. Concurrent misses for
the same read in one container are coalesced (single flight): one database load, shared.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from autoindex import redis_prefetch
from autoindex.clients import get_redis
from autoindex.observability import add_metric, logger
from autoindex.redis_scripts import RedisScript, as_text, redis_unavailable_errors
from autoindex.settings import get_settings
from autoindex.single_flight import SingleFlight

if TYPE_CHECKING:
    from pydantic import BaseModel

# Set the version token unless a newer one is there (compared by publication time, the hex after "-").
_PUBLISH = RedisScript("""
local current = tonumber(string.match(redis.call('GET', KEYS[1]) or '', '-(%x+)$') or '0', 16)
if tonumber(string.match(ARGV[1], '-(%x+)$'), 16) >= current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 0
""")


@dataclass(frozen=True, slots=True)
class CachedBody:
    """A JSON body built from (or found for) one data version."""

    version: str  # the version token
    key: str
    body: bytes
    hit: bool

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:16]
        return f'"v{self.version}-{digest}"'


def version_token(data_version: int, published_at: datetime) -> str:
    """``<data version>-<publication time in hex microseconds>``: unique across database histories."""
    return f"{data_version}-{int(published_at.timestamp() * 1_000_000):x}"


def _published_at(token: str) -> int:
    return int(token.rsplit("-", 1)[1], 16)


def entry_suffix(name: str, params: Mapping[str, Any]) -> str:
    """``:name:digest`` of canonical params: the same request always maps to the same key."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return f":{name}:{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


class _LocalStore:
    """An LRU of entries bounded by count and bytes, and (in embedded mode) the current version.

    With Redis it holds copies of entries this container has served; without, it is the whole cache,
    with the same lifetimes as in Redis.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._version: tuple[float, str] | None = None

    def version(self) -> str | None:
        with self._lock:
            if self._version is None or self._version[0] < time.monotonic():
                return None
            return self._version[1]

    def publish(self, version: str, ttl_s: int) -> None:
        with self._lock:
            current = self._version[1] if self._version and self._version[0] >= time.monotonic() else None
            keep = current if current is not None and _published_at(current) > _published_at(version) else version
            self._version = (time.monotonic() + ttl_s, keep)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            self._entries.move_to_end(key)
            return found[1]

    def set(self, key: str, body: bytes, ttl_s: int, max_entries: int, max_bytes: int) -> None:
        if len(body) > max_bytes:
            return  # larger than the whole budget: served from Redis (or rebuilt) each time
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (time.monotonic() + ttl_s, body)
            self._bytes += len(body)
            while len(self._entries) > max_entries or self._bytes > max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def count_prefix(self, prefix: str) -> int:
        with self._lock:
            now = time.monotonic()
            return sum(1 for key, (expiry, _) in self._entries.items() if key.startswith(prefix) and expiry >= now)

    def size(self) -> tuple[int, int]:
        """(entries, bytes) held now."""
        with self._lock:
            return len(self._entries), self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._version = None


local_store = _LocalStore()
misses: SingleFlight[tuple[str, bytes]] = SingleFlight()  # concurrent misses per read, by entry suffix


def _version_key() -> str:
    return f"{get_settings().index_cache_prefix}:data-version"


redis_prefetch.register(_version_key)  # a cached read learns the version in its authentication's round trip


def _entry_prefix() -> str:
    return f"{get_settings().index_cache_prefix}:v"


def _redis_errors() -> tuple[type[BaseException], ...]:
    """Any Redis failure, a cluster's included (some are not ``RedisError``s): the read goes on without the cache."""
    from redis.exceptions import RedisError

    return (RedisError, *redis_unavailable_errors())


def _unavailable(exc: BaseException) -> None:
    logger.warning("index cache unavailable", extra={"error": type(exc).__name__})
    add_metric("CacheUnavailable")


def _lookup(suffix: str) -> tuple[str | None, bytes | None]:
    """(current version token, its entry's body), either of them None when absent."""
    client = get_redis()
    if client is None:
        version = local_store.version()
        return version, None if version is None else local_store.get(f"{_entry_prefix()}{version}{suffix}")
    redis_errors = _redis_errors()

    try:
        fetched, raw = redis_prefetch.take(_version_key())  # read with the principal and the limits
        if not fetched:
            raw = cast("bytes | None", client.get(_version_key()))  # the client never decodes
        if raw is None:
            return None, None
        version = as_text(raw)
        key = f"{_entry_prefix()}{version}{suffix}"
        body = local_store.get(key)
        if body is None:
            # Not atomic with the version read, and need not be: an entry's key names its version.
            found = client.get(key)
            body = found.encode() if isinstance(found, str) else found
            if body is not None:
                _keep_locally(key, body)
    except redis_errors as exc:
        _unavailable(exc)
        return None, None
    return version, body


def _keep_locally(key: str, body: bytes) -> None:
    settings = get_settings()
    local_store.set(
        key,
        body,
        settings.cache_ttl_s,
        settings.index_cache_local_max_entries,
        settings.index_cache_local_max_bytes,
    )


def _store(key: str, body: bytes) -> None:
    _keep_locally(key, body)
    client = get_redis()
    if client is None:
        return
    redis_errors = _redis_errors()

    try:
        client.set(key, body, ex=get_settings().cache_ttl_s)
    except redis_errors as exc:
        _unavailable(exc)


@dataclass(frozen=True, slots=True)
class CacheState:
    """What an operator needs to know about the cache right now (see :func:`state`)."""

    backend: Literal["redis", "memory"]
    reachable: bool
    current_token: str | None
    entries_current: int | None
    entries_counted_all: bool
    local_entries: int
    local_bytes: int


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def state(scan_limit: int = 100_000) -> CacheState:
    """The current token, how many reads are stored for it (a bounded ``SCAN``), and this process's copy."""
    local_entries, local_bytes = local_store.size()
    client = get_redis()
    if client is None:
        token = local_store.version()
        count = local_store.count_prefix(f"{_entry_prefix()}{token}:") if token else None
        return CacheState("memory", True, token, count, True, local_entries, local_bytes)
    redis_errors = _redis_errors()

    try:
        raw = client.get(_version_key())
        token = None if raw is None else as_text(raw)
        count, complete = None, True
        if token is not None:
            count = 0
            for _ in client.scan_iter(match=_glob_escape(f"{_entry_prefix()}{token}:") + "*", count=1_000):
                if count == scan_limit:
                    complete = False
                    break
                count += 1
    except redis_errors as exc:
        _unavailable(exc)
        return CacheState("redis", False, None, None, False, local_entries, local_bytes)
    return CacheState("redis", True, token, count, complete, local_entries, local_bytes)


def publish_version(version: str) -> None:
    """Make ``version`` the one readers use (never lowering a newer one); called after each compute commits."""
    ttl = get_settings().index_cache_version_ttl_s
    client = get_redis()
    if client is None:
        local_store.publish(version, ttl)
        return
    redis_errors = _redis_errors()

    try:
        _PUBLISH.run(client, keys=[_version_key()], args=[version, ttl])
    except redis_errors as exc:
        _unavailable(exc)


def read_through(name: str, params: Mapping[str, Any], load: Callable[[], tuple[str, BaseModel]]) -> CachedBody:
    """The cached body of ``name(params)`` for the current data version, loading it on a miss.

    Parameters
    ----------
    name
        The read's name (``index.history``); part of the key.
    params
        The validated query, JSON-compatible; part of the key.
    load
        Reads ``(version token, model)`` from one database snapshot (see :func:`version_token`).

    Returns
    -------
    CachedBody
    """
    suffix = entry_suffix(name, params)
    version, body = _lookup(suffix)
    if version is not None and body is not None:
        add_metric("CacheHit")
        return CachedBody(version=version, key=f"{_entry_prefix()}{version}{suffix}", body=body, hit=True)
    add_metric("CacheMiss")

    def load_and_store() -> tuple[str, bytes]:
        loaded_version, model = load()
        body = model.model_dump_json().encode()
        _store(f"{_entry_prefix()}{loaded_version}{suffix}", body)
        if version is None:
            publish_version(loaded_version)
        return loaded_version, body

    (loaded_version, body), shared = misses.do(suffix, load_and_store)
    if shared:
        add_metric("CacheMissCoalesced")
    return CachedBody(version=loaded_version, key=f"{_entry_prefix()}{loaded_version}{suffix}", body=body, hit=False)


def reset() -> None:
    """Forget the process's clients and local entries (tests change settings between cases)."""
    local_store.clear()
