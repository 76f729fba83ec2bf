"""A short-lived cache of verified principal facts, shared by every instance through Redis.

What is cached is what the database would say about a credential, never the credential:

- an API key's facts live under ``<prefix>:k:<key id>:<digest of the stored HMAC>``. A lookup
  derives that name from the HMAC of the *presented* secret, so a wrong secret simply misses. The
  entry also holds the stored HMAC, which is compared in constant time on every hit. The HMAC
  authenticates nothing (it needs the pepper to be produced from a secret).
- a user's role and active flag live under ``{<prefix>:u:<user id>}``.
- that a session (a refresh-token family, the ``sid`` of its access tokens) is live lives under
  ``{<prefix>:u:<user id>}:s:<session id>``: the user's hash tag, so one ``MGET`` reads both, in one
  slot of a Redis Cluster. Logging out holds it, so a miss reads the database, which says the
  session is over; Redis losing its data therefore never revives a session.

Invalidation writes a *hold* marker instead of deleting: while it lives, lookups miss and
populating is refused (one Lua call checks it), so a request that read the database just before
a revocation committed cannot put the old facts back.

Without ``REDIS_URL`` the cache is a dict in the process (the embedded mode is one process).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from autoindex.identity.principal import Principal, key_scopes
from autoindex.redis_scripts import RedisScript, hash_tag, redis_unavailable_errors
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis

HOLD = b"-"  # never valid JSON object text, so it cannot be mistaken for facts
_MIN_HOLD_S = 60  # outlasts any request that read the database before the invalidation


class CacheUnavailable(Exception):
    """The shared cache could not be reached in time."""


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """What the database says about one API key and its owner (times in seconds since the epoch)."""

    key_id: uuid.UUID
    secret_hmac: str
    owner_id: uuid.UUID
    owner_email: str
    owner_role: str
    owner_active: bool
    scopes: tuple[str, ...]
    expires_at: float | None
    revoked: bool
    last_used_at: float | None

    def principal(self) -> Principal:
        # A key never exceeds its owner: an admin scope lapses if the owner is no longer an admin.
        scopes = key_scopes(frozenset(self.scopes), self.owner_role)
        return Principal(
            kind="api_key",
            user_id=self.owner_id,
            email=self.owner_email,
            role=self.owner_role,
            scopes=scopes,
            api_key_id=self.key_id,
        )


@dataclass(frozen=True, slots=True)
class UserFacts:
    user_id: uuid.UUID
    email: str
    role: str
    active: bool


class CacheStore(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys`` in one round trip."""
        ...

    def put(self, key: str, value: bytes, ttl_ms: int) -> None:
        """Store ``value`` unless ``key`` is held."""
        ...

    def hold(self, key: str, ttl_ms: int) -> None: ...

    def hold_many(self, keys: list[str], ttl_ms: int) -> None:
        """Hold every one of ``keys`` (one round trip)."""
        ...


_PUT_UNLESS_HELD = RedisScript(
    """
if redis.call('GET', KEYS[1]) == ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
)


class RedisCacheStore:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._down = redis_unavailable_errors()

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(key)
        except self._down as exc:
            raise CacheUnavailable(type(exc).__name__) from exc
        return value if isinstance(value, bytes) else None

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        try:
            values = self._client.mget(keys)
        except self._down as exc:
            raise CacheUnavailable(type(exc).__name__) from exc
        return [value if isinstance(value, bytes) else None for value in values]

    def put(self, key: str, value: bytes, ttl_ms: int) -> None:
        try:
            _PUT_UNLESS_HELD.run(self._client, [key], [value, ttl_ms, HOLD])
        except self._down as exc:
            raise CacheUnavailable(type(exc).__name__) from exc

    def hold(self, key: str, ttl_ms: int) -> None:
        try:
            self._client.set(key, HOLD, px=ttl_ms)
        except self._down as exc:
            raise CacheUnavailable(type(exc).__name__) from exc

    def hold_many(self, keys: list[str], ttl_ms: int) -> None:
        if not keys:
            return
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(key, HOLD, px=ttl_ms)
                pipe.execute()
        except self._down as exc:
            raise CacheUnavailable(type(exc).__name__) from exc


class MemoryCacheStore:
    """The embedded default: the same semantics within one process."""

    _MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, bytes]] = {}  # key -> (monotonic expiry, value)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def put(self, key: str, value: bytes, ttl_ms: int) -> None:
        with self._lock:
            if self._live(key) == HOLD:
                return
            self._set(key, value, ttl_ms)

    def hold(self, key: str, ttl_ms: int) -> None:
        with self._lock:
            self._set(key, HOLD, ttl_ms)

    def hold_many(self, keys: list[str], ttl_ms: int) -> None:
        for key in keys:
            self.hold(key, ttl_ms)

    def _live(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def _set(self, key: str, value: bytes, ttl_ms: int) -> None:
        now = time.monotonic()
        self._entries[key] = (now + ttl_ms / 1000, value)
        if len(self._entries) > self._MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}


class PrincipalCache:
    """Facts about API keys and users, reused for ``ttl_s`` seconds (0: never cached)."""

    def __init__(self, store: CacheStore, *, ttl_s: int, prefix: str = "pc") -> None:
        self._store = store
        self.ttl_s = ttl_s
        self._prefix = prefix

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def api_key(self, key_id: uuid.UUID, presented_hmac: str) -> KeyFacts | None:
        """The cached facts for a key whose stored HMAC equals ``presented_hmac``, else None (a miss)."""
        return self.key_facts_of(self._store.get(self.api_key_name(key_id, presented_hmac)))

    @staticmethod
    def key_facts_of(raw: bytes | None) -> KeyFacts | None:
        """An API key's entry as facts; None for a miss, a hold or anything unreadable."""
        data = _object(raw)
        if data is None:
            return None
        try:
            return KeyFacts(
                key_id=uuid.UUID(hex=data["k"]),
                secret_hmac=str(data["h"]),
                owner_id=uuid.UUID(hex=data["o"]),
                owner_email=str(data["e"]),
                owner_role=str(data["r"]),
                owner_active=data["a"] is True,
                scopes=tuple(str(s) for s in data["s"]),
                expires_at=None if data["x"] is None else float(data["x"]),
                revoked=data["v"] is not False,
                last_used_at=None if data["u"] is None else float(data["u"]),
            )
        except (KeyError, TypeError, ValueError):
            return None  # an unreadable entry is a miss: the database decides

    def put_api_key(self, facts: KeyFacts) -> None:
        data = {
            "k": facts.key_id.hex,
            "h": facts.secret_hmac,
            "o": facts.owner_id.hex,
            "e": facts.owner_email,
            "r": facts.owner_role,
            "a": facts.owner_active,
            "s": list(facts.scopes),
            "x": facts.expires_at,
            "v": facts.revoked,
            "u": facts.last_used_at,
        }
        self._store.put(self.api_key_name(facts.key_id, facts.secret_hmac), _dump(data), self.ttl_s * 1000)

    def invalidate_api_key(self, key_id: uuid.UUID, stored_hmac: str) -> None:
        """Make every instance read this key from the database; raises CacheUnavailable."""
        self._store.hold(self.api_key_name(key_id, stored_hmac), self._hold_ms)

    def user(self, user_id: uuid.UUID) -> UserFacts | None:
        return self._user_facts(user_id, self._load(self._user_name(user_id)))

    @staticmethod
    def _user_facts(user_id: uuid.UUID, data: dict[str, Any] | None) -> UserFacts | None:
        if data is None:
            return None
        try:
            return UserFacts(user_id=user_id, email=str(data["e"]), role=str(data["r"]), active=data["a"] is True)
        except (KeyError, TypeError):
            return None

    def put_user(self, facts: UserFacts) -> None:
        data = {"e": facts.email, "r": facts.role, "a": facts.active}
        self._store.put(self._user_name(facts.user_id), _dump(data), self.ttl_s * 1000)

    def invalidate_user(self, user_id: uuid.UUID) -> None:
        """Make every instance read this user from the database; raises CacheUnavailable."""
        self._store.hold(self._user_name(user_id), self._hold_ms)

    def user_and_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> tuple[UserFacts | None, bool]:
        """The user's cached facts (None: a miss) and whether the session is cached as live, in one round trip."""
        raw_user, raw_session = self._store.get_many(self.user_and_session_names(user_id, session_id))
        return self.user_and_session_of(user_id, raw_user, raw_session)

    def user_and_session_of(
        self, user_id: uuid.UUID, raw_user: bytes | None, raw_session: bytes | None
    ) -> tuple[UserFacts | None, bool]:
        """The values of :meth:`user_and_session_names` as (facts or None, whether the session is live)."""
        return self._user_facts(user_id, _object(raw_user)), raw_session == LIVE

    def user_and_session_names(self, user_id: uuid.UUID, session_id: uuid.UUID) -> list[str]:
        """The keys of a user's facts and of a session's liveness (one hash tag: one slot)."""
        return [self._user_name(user_id), self._session_name(user_id, session_id)]

    def put_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """Cache that the session is live (unless it is held: logged out a moment ago)."""
        self._store.put(self._session_name(user_id, session_id), LIVE, self.ttl_s * 1000)

    def invalidate_sessions(self, user_id: uuid.UUID, session_ids: list[uuid.UUID]) -> None:
        """Make every instance read these sessions of ``user_id`` from the database (where they are over);
        raises CacheUnavailable."""
        self._store.hold_many([self._session_name(user_id, sid) for sid in session_ids], self._hold_ms)

    def _load(self, name: str) -> dict[str, Any] | None:
        return _object(self._store.get(name))

    @property
    def _hold_ms(self) -> int:
        return max(self.ttl_s, _MIN_HOLD_S) * 1000

    def api_key_name(self, key_id: uuid.UUID, secret_hmac: str) -> str:
        """The key of an API key's entry, named by a digest of its HMAC (a wrong secret names another key)."""
        digest = hashlib.sha256(f"principal-cache:{secret_hmac}".encode()).hexdigest()[:32]
        return f"{self._prefix}:k:{key_id.hex}:{digest}"

    def _user_name(self, user_id: uuid.UUID) -> str:
        return hash_tag(f"{self._prefix}:u:{user_id.hex}")

    def _session_name(self, user_id: uuid.UUID, session_id: uuid.UUID) -> str:
        return f"{self._user_name(user_id)}:s:{session_id.hex}"


LIVE = b"1"  # a session's entry: it is live


def _object(raw: bytes | None) -> dict[str, Any] | None:
    """A cached JSON object, or None for a miss, a hold or anything unreadable."""
    if raw is None or raw == HOLD:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _dump(data: dict[str, object]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


_MEMORY = MemoryCacheStore()
_built: list[tuple[object, object, PrincipalCache]] = []  # the one cache built, with what it was built from


def get_principal_cache() -> PrincipalCache:
    """The container's cache: Redis when REDIS_URL is set, else the process's memory.

    Rebuilt whenever the settings or the Redis client change (tests swap both).
    """
    from autoindex.clients import get_redis

    settings, client = get_settings(), get_redis()
    if _built and _built[0][0] is settings and _built[0][1] is client:
        return _built[0][2]
    store: CacheStore = RedisCacheStore(client) if client is not None else _MEMORY
    cache = PrincipalCache(store, ttl_s=settings.principal_cache_ttl_s, prefix=settings.principal_cache_prefix)
    _built[:] = [(settings, client, cache)]
    return cache
