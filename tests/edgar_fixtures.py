"""The fake EDGAR as the share-count job's configured source, for the tests that need SEC on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from autoindex_dev.fake_edgar import FakeEdgar
from redis import Redis

from tests.conftest import REDIS_URL, clear_process_caches

AGENT = "AutoIndex tests ops@example.com"


@contextmanager
def edgar_source(env: pytest.MonkeyPatch, prefix: str, *, max_rps: float | None = None) -> Iterator[FakeEdgar]:
    """The fake EDGAR as the job's source, EDGAR's Redis keys (circuit, pace, ticker map) under ``prefix`` and
    deleted afterwards, so each test starts on a closed circuit and a quiet pace."""
    with FakeEdgar() as server:
        env.setenv("SHARE_COUNT_SOURCE", "edgar")
        env.setenv("EDGAR_BASE_URL", server.url)
        env.setenv("EDGAR_USER_AGENT", AGENT)
        env.setenv("PROVIDER_KEY_PREFIX", prefix)
        if max_rps is not None:
            env.setenv("EDGAR_MAX_RPS", str(max_rps))
        clear_process_caches()
        yield server
    client = Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
