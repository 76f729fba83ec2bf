"""The principal cache: shared facts, never secrets; revocation at once everywhere; a dead Redis reads the database."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.errors import ServiceUnavailable, Unauthorized
from autoindex.identity import api_keys, authn, key_format, principal_facts
from autoindex.identity import service as identity
from autoindex.identity.models import ApiKey, User
from autoindex.identity.principal import Principal, RequestMeta
from autoindex.identity.principal_cache import (
    CacheStore,
    CacheUnavailable,
    KeyFacts,
    MemoryCacheStore,
    PrincipalCache,
    RedisCacheStore,
    UserFacts,
)
from redis import Redis
from sqlalchemy import update

from tests.conftest import REDIS_URL, clear_process_caches
from tests.functions.auth.keys import create_key
from tests.functions.conftest import Account, Client, register_and_login
from tests.lambda_http import ROOT

META = RequestMeta(request_id=None, source_ip=None)


def _instance(prefix: str) -> PrincipalCache:
    """What one Lambda instance builds: its own Redis connection, the shared server and prefix."""
    return PrincipalCache(RedisCacheStore(Redis.from_url(REDIS_URL)), ttl_s=60, prefix=prefix)


@pytest.fixture
def prefix(fresh_settings: pytest.MonkeyPatch) -> str:
    value = f"pc-{uuid.uuid4().hex[:8]}"
    fresh_settings.setenv("PRINCIPAL_CACHE_PREFIX", value)
    clear_process_caches()
    return value


@pytest.fixture
def db_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each database read of the authentication path, by kind."""
    reads: list[str] = []
    load_key, load_user = principal_facts.load_api_key, principal_facts.load_user

    def counting_key(**kwargs: Any) -> KeyFacts:
        reads.append("key")
        return load_key(**kwargs)

    def counting_user(**kwargs: Any) -> tuple[UserFacts, bool] | None:
        reads.append("user")
        return load_user(**kwargs)

    monkeypatch.setattr(principal_facts, "load_api_key", counting_key)
    monkeypatch.setattr(principal_facts, "load_user", counting_user)
    return reads


def _owner(account: Account) -> Principal:
    return identity.authenticate_bearer(uow=UnitOfWork(), token=account.access_token)


def _dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


def test_a_cached_key_needs_no_database(auth: Client, user: Account, prefix: str, db_reads: list[str]) -> None:
    key = create_key(auth, user, ["read"])["key"]
    db_reads.clear()
    first = authn.api_key_principal(key)
    again = [authn.api_key_principal(key) for _ in range(3)]
    assert db_reads == ["key"]
    assert all(p == first for p in again)
    assert (first.kind, first.scopes, first.email) == ("api_key", frozenset({"read", "backtest"}), user.email)


def test_revocation_applies_at_once_on_every_instance(
    auth: Client, user: Account, prefix: str, db_reads: list[str]
) -> None:
    # Given two instances that both serve the key from the shared cache
    created = create_key(auth, user, ["read"])
    a, b = _instance(prefix), _instance(prefix)
    db_reads.clear()
    authn.api_key_principal(created["key"], cache=a)
    authn.api_key_principal(created["key"], cache=b)
    assert db_reads == ["key"]
    # When the owner revokes it through a third
    assert auth.delete(f"/v1/auth/api-keys/{created['id']}", headers=user.bearer()).status == 204
    # Then the very next request on either instance is refused, and stays refused
    for cache in (a, b, a, b):
        with pytest.raises(Unauthorized):
            authn.api_key_principal(created["key"], cache=cache)


def test_a_revoke_that_cannot_reach_the_cache_changes_nothing(
    auth: Client, user: Account, prefix: str, fresh_settings: pytest.MonkeyPatch
) -> None:
    created = create_key(auth, user, ["read"])
    assert auth.get("/v1/auth/me", headers={"X-API-Key": created["key"]}).status == 200  # cached
    owner = _owner(user)
    fresh_settings.setenv("REDIS_URL", _dead_redis_url())
    clear_process_caches()
    with pytest.raises(ServiceUnavailable):
        api_keys.revoke(uow=UnitOfWork(), principal=owner, key_id=uuid.UUID(created["id"]), meta=META)
    with UnitOfWork(read_only=True) as uow:
        row = uow.session.get(ApiKey, uuid.UUID(created["id"]))
        assert row is not None and row.revoked_at is None  # rolled back: the 503 is the truth
    fresh_settings.setenv("REDIS_URL", REDIS_URL)
    clear_process_caches()
    assert auth.get("/v1/auth/me", headers={"X-API-Key": created["key"]}).status == 200
    assert auth.delete(f"/v1/auth/api-keys/{created['id']}", headers=user.bearer()).status == 204
    assert auth.get("/v1/auth/me", headers={"X-API-Key": created["key"]}).status == 401


def test_redis_down_reads_the_database_and_never_fails_open(
    auth: Client, user: Account, prefix: str, fresh_settings: pytest.MonkeyPatch, db_reads: list[str]
) -> None:
    live = create_key(auth, user, ["read"])
    revoked = create_key(auth, user, ["read"])
    for created in (live, revoked):  # both cached as live
        assert auth.get("/v1/auth/me", headers={"X-API-Key": created["key"]}).status == 200
    with UnitOfWork() as uow:  # revoked behind the cache's back: only the database knows
        uow.session.execute(
            update(ApiKey).where(ApiKey.id == uuid.UUID(revoked["id"])).values(revoked_at=datetime.now(UTC))
        )
    db_reads.clear()
    fresh_settings.setenv("REDIS_URL", _dead_redis_url())
    clear_process_caches()
    assert auth.get("/v1/auth/me", headers={"X-API-Key": live["key"]}).status == 200
    assert auth.get("/v1/auth/me", headers={"X-API-Key": revoked["key"]}).status == 401
    assert auth.get("/v1/auth/me", headers=user.bearer()).status == 200
    assert db_reads == ["key", "key", "user"]


def test_a_tampered_secret_with_a_cached_key_id_is_refused(auth: Client, user: Account, prefix: str) -> None:
    key = create_key(auth, user, ["read"])["key"]
    authn.api_key_principal(key)  # the key id is now cached
    body = key.rsplit("_", 1)[0]
    other = body[:-1] + ("A" if body[-1] != "A" else "B")
    tampered = f"{other}_{key_format._checksum(other)}"
    with pytest.raises(Unauthorized):
        authn.api_key_principal(tampered)
    assert authn.api_key_principal(key).kind == "api_key"


def test_a_hit_still_compares_the_secret_with_the_stored_hmac() -> None:
    # Given an entry found under the presented secret's name that holds another key's HMAC
    # (what a collision of the name's digest, or a forged entry, would look like)
    class AnyName(MemoryCacheStore):
        def get(self, key: str) -> bytes | None:
            return self.last

        def put(self, key: str, value: bytes, ttl_ms: int) -> None:
            self.last = value

    key_id = uuid.uuid4()
    key, _ = key_format.generate(key_id)
    _, other_stored = key_format.generate(key_id)
    cache = PrincipalCache(AnyName(), ttl_s=60)
    cache.put_api_key(_facts(key_id, other_stored))
    # Then the constant-time comparison refuses it
    with pytest.raises(Unauthorized):
        authn.api_key_principal(key, cache=cache)


def _facts(key_id: uuid.UUID, stored_hmac: str, **changes: Any) -> KeyFacts:
    facts = KeyFacts(
        key_id=key_id,
        secret_hmac=stored_hmac,
        owner_id=uuid.uuid4(),
        owner_email="owner@example.com",
        owner_role="user",
        owner_active=True,
        scopes=("read",),
        expires_at=None,
        revoked=False,
        last_used_at=authn.now(),
    )
    return replace(facts, **changes)


def test_the_cache_never_stores_or_logs_the_secret(
    auth: Client, user: Account, prefix: str, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        key = create_key(auth, user, ["read", "write"])["key"]
        assert auth.get("/v1/auth/me", headers={"X-API-Key": key}).status == 200
        assert auth.get("/v1/auth/me", headers=user.bearer()).status == 200
    secret = _secret_of(key)
    stored: dict[str, str] = {}
    for name in redis_client.scan_iter(f"*{prefix}:*"):  # user and session keys start with a hash tag
        value = redis_client.get(name)
        assert isinstance(name, bytes) and isinstance(value, bytes)
        stored[name.decode()] = value.decode()
    assert len(stored) == 3  # the key's facts, the user's and that the session is live
    for name, value in stored.items():
        assert all(s not in name + value for s in (secret, key, user.access_token, user.refresh_token))
    key_entry = next(v for n, v in stored.items() if ":k:" in n)
    parsed = key_format.parse(key)
    assert parsed is not None and key_format.secret_hmac(parsed.secret) in key_entry  # what it holds instead
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert secret not in logs


def test_last_use_is_written_at_most_once_a_minute(
    auth: Client, user: Account, prefix: str, db_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = create_key(auth, user, ["read"])
    db_reads.clear()
    start = authn.now()
    monkeypatch.setattr(authn, "now", lambda: start)
    for _ in range(3):
        authn.api_key_principal(created["key"])
    assert db_reads == ["key"]
    first = _last_used(created["id"])
    monkeypatch.setattr(authn, "now", lambda: start + 61)
    authn.api_key_principal(created["key"])
    authn.api_key_principal(created["key"])
    assert db_reads == ["key", "key"]
    assert _last_used(created["id"]) - first >= 60


def _last_used(key_id: str) -> float:
    with UnitOfWork(read_only=True) as uow:
        row = uow.session.get(ApiKey, uuid.UUID(key_id))
        assert row is not None and row.last_used_at is not None
        return row.last_used_at.timestamp()


def test_a_users_role_is_cached_until_invalidated(auth: Client, prefix: str, db_reads: list[str]) -> None:
    account = register_and_login(auth)
    user_id = uuid.UUID(account.user_id)
    assert _owner(account).role == "user"
    with UnitOfWork() as uow:  # what a future promotion route would do, with the hook it must call
        uow.session.execute(update(User).where(User.id == user_id).values(role="admin"))
        assert _owner(account).role == "user"  # still cached: the change has not committed
        identity.invalidate_user(uow, user_id)
    assert _owner(account).role == "admin"
    with UnitOfWork() as uow:
        uow.session.execute(update(User).where(User.id == user_id).values(is_active=False))
        identity.invalidate_user(uow, user_id)
    with pytest.raises(Unauthorized):
        _owner(account)
    assert db_reads == ["user", "user", "user"]


def test_invalidating_a_user_also_invalidates_their_keys(auth: Client, user: Account, prefix: str) -> None:
    key = create_key(auth, user, ["read"])["key"]
    assert authn.api_key_principal(key).role == "user"
    with UnitOfWork() as uow:
        uow.session.execute(update(User).where(User.id == uuid.UUID(user.user_id)).values(is_active=False))
        identity.invalidate_user(uow, uuid.UUID(user.user_id))
    with pytest.raises(Unauthorized):
        authn.api_key_principal(key)


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest, redis_client: Redis) -> Iterator[CacheStore]:
    yield RedisCacheStore(redis_client) if request.param == "redis" else MemoryCacheStore()


def test_a_hold_refuses_stale_facts_read_before_the_revocation(store: CacheStore) -> None:
    # A request read the live row just before the revocation committed, and writes it back after.
    cache = PrincipalCache(store, ttl_s=60)
    key_id, stored = uuid.uuid4(), "ab" * 32
    stale = _facts(key_id, stored)
    cache.put_api_key(stale)
    cache.invalidate_api_key(key_id, stored)
    cache.put_api_key(stale)
    assert cache.api_key(key_id, stored) is None
    user = UserFacts(user_id=uuid.uuid4(), email="u@example.com", role="user", active=True)
    cache.put_user(user)
    assert cache.user(user.user_id) == user
    cache.invalidate_user(user.user_id)
    cache.put_user(user)
    assert cache.user(user.user_id) is None


def test_an_unreachable_store_raises_cache_unavailable() -> None:
    cache = PrincipalCache(RedisCacheStore(Redis.from_url(_dead_redis_url())), ttl_s=60)
    with pytest.raises(CacheUnavailable):
        cache.api_key(uuid.uuid4(), "00")
    with pytest.raises(CacheUnavailable):
        cache.put_user(UserFacts(user_id=uuid.uuid4(), email="u@example.com", role="user", active=True))
    with pytest.raises(CacheUnavailable):
        cache.invalidate_user(uuid.uuid4())


def test_ttl_zero_turns_the_cache_off(
    auth: Client, user: Account, prefix: str, fresh_settings: pytest.MonkeyPatch, db_reads: list[str]
) -> None:
    fresh_settings.setenv("PRINCIPAL_CACHE_TTL_S", "0")
    clear_process_caches()
    key = create_key(auth, user, ["read"])["key"]
    db_reads.clear()
    for _ in range(3):
        authn.api_key_principal(key)
    assert db_reads == ["key", "key", "key"]


def test_a_cache_hit_imports_no_orm(auth: Client, user: Account, prefix: str) -> None:
    # Given the key's facts are in the shared cache
    key = create_key(auth, user, ["read"])["key"]
    authn.api_key_principal(key)
    # Then a fresh process authenticates it without importing SQLAlchemy or the models
    script = (
        "import sys\n"
        "from autoindex.auth import deps\n"
        "from autoindex.identity import authn\n"
        "assert 'sqlalchemy' not in sys.modules, 'deps imports the ORM'\n"
        f"assert authn.api_key_principal({key!r}).kind == 'api_key'\n"
        "orm = ('sqlalchemy', 'autoindex.identity.models', 'autoindex.identity.audit', 'autoindex.identity.service')\n"
        "loaded = [m for m in sys.modules if m.startswith(orm)]\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _secret_of(key: str) -> str:
    """The secret part of a full key (it may itself contain "_", so no naive split)."""
    from autoindex.identity import key_format as key_parts

    parsed = key_parts.parse(key)
    assert parsed is not None
    return parsed.secret
