"""The versioned read cache on the real Redis: hits, invalidation by version, the in-process copy, outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from autoindex.index import read_cache
from pydantic import BaseModel
from redis import Redis

from tests.conftest import REDIS_URL, clear_process_caches

T0 = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)


class Body(BaseModel):
    version: int
    values: list[float]


class Database:
    """Stands in for the loader's database snapshot: the version it would read, and how often it was read."""

    def __init__(self, data_version: int = 1, published_at: datetime = T0, size: int = 3) -> None:
        self.data_version, self.published_at, self.size, self.loads = data_version, published_at, size, 0

    @property
    def token(self) -> str:
        return read_cache.version_token(self.data_version, self.published_at)

    def load(self) -> tuple[str, BaseModel]:
        self.loads += 1
        return self.token, Body(version=self.data_version, values=[float(i) for i in range(self.size)])


def read(db: Database, name: str = "index.history", params: dict[str, Any] | None = None) -> read_cache.CachedBody:
    return read_cache.read_through(name, params or {"start": None}, db.load)


@pytest.fixture
def prefix(fresh_settings: pytest.MonkeyPatch) -> Iterator[str]:
    """An index cache of this test's own on the test Redis."""
    name = f"ixt-{uuid.uuid4().hex[:8]}"
    fresh_settings.setenv("INDEX_CACHE_PREFIX", name)
    fresh_settings.setenv("INDEX_CACHE_VERSION_TTL_S", "300")
    clear_process_caches()
    yield name
    client = Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def test_a_hit_is_the_stored_bytes_and_reads_no_database(prefix: str) -> None:
    db = Database()
    first, second = read(db), read(db)
    assert (first.hit, second.hit) == (False, True)
    assert second.body == first.body and second.etag == first.etag
    assert Body.model_validate_json(second.body).version == 1
    assert db.loads == 1
    # Another container (a fresh process copy) is served the same bytes from Redis, still without the database
    read_cache.local_store.clear()
    assert read(db).body == first.body and db.loads == 1


def test_a_served_body_is_kept_in_process_and_only_the_version_is_asked_of_redis(prefix: str) -> None:
    db = Database(size=5_000)
    built = read(db)
    client = Redis.from_url(REDIS_URL)
    # The entry leaves Redis (TTL, eviction) but the version is current: this container still has the bytes
    assert client.delete(built.key) == 1
    again = read(db)
    assert again.hit and again.body == built.body and db.loads == 1


def test_a_new_version_is_read_on_the_very_next_request(prefix: str) -> None:
    db = Database()
    old = read(db)
    assert read(db).hit
    # A compute commits version 2 and publishes it
    db.data_version, db.published_at = 2, T0 + timedelta(minutes=5)
    read_cache.publish_version(db.token)
    new = read(db)
    assert not new.hit and Body.model_validate_json(new.body).version == 2
    assert new.etag != old.etag
    assert read(db).hit and db.loads == 2


def test_an_older_publication_never_replaces_a_newer_one(prefix: str) -> None:
    newer = Database(data_version=7, published_at=T0 + timedelta(hours=1))
    older = Database(data_version=6, published_at=T0)
    read_cache.publish_version(newer.token)
    read_cache.publish_version(older.token)  # a late warmer of the previous compute
    assert Redis.from_url(REDIS_URL).get(f"{prefix}:data-version") == newer.token.encode()


def test_each_query_has_its_own_entry(prefix: str) -> None:
    db = Database()
    a = read(db, params={"start": "2026-01-02"})
    b = read(db, params={"start": "2026-01-05"})
    assert a.key != b.key and db.loads == 2
    assert read(db, params={"start": "2026-01-02"}).hit


def test_when_redis_dies_reads_go_to_the_database_quickly_and_never_fail(
    prefix: str, fresh_settings: pytest.MonkeyPatch, own_redis: tuple[str, Any]
) -> None:
    url, proc = own_redis
    fresh_settings.setenv("REDIS_URL", url)
    clear_process_caches()
    db = Database()
    read(db)
    assert read(db).hit
    proc.kill()
    proc.wait()
    # The body is still in this process, but without Redis the version is unknown: read the database
    started = time.monotonic()
    during = read(db)
    assert time.monotonic() - started < 2.0
    assert not during.hit and Body.model_validate_json(during.body).version == 1
    assert db.loads == 2


def test_the_in_process_copy_is_bounded_by_bytes_and_entries(prefix: str, fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("INDEX_CACHE_LOCAL_MAX_BYTES", "20000")
    fresh_settings.setenv("INDEX_CACHE_LOCAL_MAX_ENTRIES", "3")
    clear_process_caches()
    db = Database(size=1_000)  # a body of about 6 kB
    bodies = [read(db, params={"n": i}) for i in range(6)]
    entries, held = read_cache.local_store.size()
    assert entries == 3 and held <= 20_000
    # The oldest went from the process copy, never from Redis: it is a hit all the same
    assert read(db, params={"n": 0}).body == bodies[0].body and db.loads == 6
    huge = read(Database(size=10_000), params={"n": "huge"})  # about 60 kB: larger than the whole copy
    assert len(huge.body) > 20_000 and read_cache.local_store.size()[1] <= 20_000


def test_without_redis_the_same_rules_hold_in_process(fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.delenv("REDIS_URL", raising=False)
    clear_process_caches()
    db = Database()
    assert [read(db).hit, read(db).hit] == [False, True]
    db.data_version, db.published_at = 2, T0 + timedelta(minutes=1)
    read_cache.publish_version(db.token)
    assert Body.model_validate_json(read(db).body).version == 2 and db.loads == 2


def test_concurrent_misses_for_one_read_cost_one_database_load(
    prefix: str, fresh_settings: pytest.MonkeyPatch, own_redis: tuple[str, Any]
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    url, proc = own_redis
    fresh_settings.setenv("REDIS_URL", url)
    clear_process_caches()
    proc.kill()  # Redis down: every read is a miss
    proc.wait()
    db, release, callers = Database(), threading.Event(), 12

    def slow_load() -> tuple[str, BaseModel]:
        release.wait(30)  # the database is busy until every other caller has arrived
        return db.load()

    suffix = read_cache.entry_suffix("index.history", {"start": None})
    with ThreadPoolExecutor(max_workers=callers) as pool:
        futures = [
            pool.submit(read_cache.read_through, "index.history", {"start": None}, slow_load) for _ in range(callers)
        ]
        deadline = time.monotonic() + 20
        while read_cache.misses.followers(suffix) < callers - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        bodies = [f.result(timeout=30) for f in futures]
    assert db.loads == 1
    assert all(not b.hit and Body.model_validate_json(b.body).version == 1 for b in bodies)
    # Once it is done, the next miss loads again (a coalesced call is not a cache).
    read(db)
    assert db.loads == 2


def test_a_failed_load_fails_every_waiting_caller_and_is_not_remembered(prefix: str) -> None:
    from autoindex.single_flight import SingleFlight

    flight: SingleFlight[int] = SingleFlight()

    def boom() -> int:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        flight.do("k", boom)
    assert flight.do("k", lambda: 7) == (7, False)
