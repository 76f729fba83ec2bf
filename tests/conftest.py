"""Test-wide fixtures: the test environment, clean caches, and (only where asked for) real PostgreSQL and Redis.

Every test runs with the same settings (stage ``test``, fixed secrets, cheap bcrypt). Nothing here
connects to a server by itself: a directory whose tests need PostgreSQL and Redis asks for
``services`` (its conftest makes it autouse), which creates a fresh database for the session on the
server named by TEST_DATABASE_URL (a maintenance database there) and uses TEST_REDIS_URL. The unit
tier (``tests/unit``, ``make test-unit``) never does, so it passes with both servers down.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def clear_process_caches() -> None:
    """Forget everything built from settings, so the next call sees the current environment."""
    from autoindex.clients import get_redis
    from autoindex.db.engine import dispose_engines
    from autoindex.index import read_cache
    from autoindex.market.providers.factory import clear_provider_caches
    from autoindex.observability import get_tracer
    from autoindex.ratelimit.limiter import get_limiter
    from autoindex.settings import get_settings

    dispose_engines()
    clear_provider_caches()
    read_cache.reset()
    for cached in (get_settings, get_limiter, get_redis, get_tracer):
        cached.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def test_environment() -> Iterator[None]:
    """The product's settings for the whole session; the database URL is replaced once ``services`` runs."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "STAGE": "test",
            # Until a test asks for ``services``, settings name the maintenance database, which no unit test opens.
            "DATABASE_URL": ADMIN_URL,
            "REDIS_URL": REDIS_URL,
            "METRICS_NAMESPACE": "AutoIndexTest",
            "JWT_SIGNING_KEY": "test-signing-key-0123456789abcdef-0123456789",
            "API_KEY_PEPPER": "test-api-key-pepper-0123456789abcdef-012345",
            "BCRYPT_ROUNDS": "4",  # the minimum: tests exercise logic, the benchmark measures cost
            "MARKET_DATA_PROVIDER": "demo",
        }
    )
    for key in (
        "DATABASE_READ_URL",
        "DATABASE_SECRET_ARN",
        "CORS_ALLOW_ORIGINS",
        "RATE_LIMIT_POLICIES",
        "JWT_SIGNING_KEY_SECRET_ARN",
        "API_KEY_PEPPER_SECRET_ARN",
    ):
        os.environ.pop(key, None)
    clear_process_caches()
    yield
    clear_process_caches()
    os.environ.clear()
    os.environ.update(saved)


@contextmanager
def scratch_database(prefix: str = "autoindex_test") -> Iterator[str]:
    """An empty PostgreSQL database of its own (its URL), dropped afterwards with whatever still holds it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(test_environment: None) -> Iterator[str]:
    """A database of its own for this test session, created empty and dropped at the end."""
    with scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
def services(database_url: str) -> None:
    """Point the product at the session's own PostgreSQL database and the test Redis (autouse where needed)."""
    os.environ["DATABASE_URL"] = database_url
    clear_process_caches()


@pytest.fixture(scope="session")
def migrated(services: None) -> Engine:
    """The session database at the head revision, migrated by the same code as `autoindex migrate`."""
    from autoindex.db.engine import write_engine
    from autoindex.migrations import migrate

    engine = write_engine()
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change environment variables in a test; caches are rebuilt before and after."""
    clear_process_caches()
    yield monkeypatch
    monkeypatch.undo()
    clear_process_caches()


@pytest.fixture
def redis_client() -> Iterator[object]:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


STEADY_S = 5.0  # longer than any test that counts against a fixed window takes (bcrypt runs at cost 4 here)


@pytest.fixture
def steady_minute() -> None:
    """Start at least STEADY_S before a UTC minute turns.

    Every fixed rate-limit window (minute, five minutes, hour, day) turns on a minute boundary; a
    test that counts requests against one would see the counter reset if a boundary fell inside it.
    Use it first (``@pytest.mark.usefixtures``) so fixtures that already spend requests run after.
    """
    left = 60.0 - time.time() % 60.0
    if left < STEADY_S:
        time.sleep(left + 0.05)


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of this test's own on a spare loopback port, which the test may stop."""
    from redis import Redis

    from tests.net import free_port

    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except Exception:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.kill()
    proc.wait()
