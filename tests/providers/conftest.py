"""Fixtures for the provider tests: a manual clock, the fake Twelve Data server, clients wired to it, Redis.

Run with ``TEST_REDIS_URL=redis://127.0.0.1:6379/14``; every Redis key these tests write carries a
unique prefix, so they never disturb another suite sharing the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from autoindex.market.providers.budget import CreditBudget
from autoindex.market.providers.circuit import CircuitBreaker
from autoindex.market.providers.twelvedata.client import DividendMode, TwelveDataProvider
from autoindex.market.providers.twelvedata.transport import TransportConfig, TwelveDataTransport
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from redis import Redis

from tests.conftest import REDIS_URL

API_KEY = "td-secret-key-4f9a"
# Wednesday 2024-03-13, 15:00 UTC = 11:00 in New York: the US session is open.
SESSION_OPEN_UTC = datetime(2024, 3, 13, 15, 0, 0, tzinfo=UTC)


class ManualClock:
    """Time that moves only when told to: ``sleep`` advances it and remembers each wait."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def epoch_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SESSION_OPEN_UTC)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeTwelveData]:
    """A fake API on a free 127.0.0.1 port with a generous plan, on the manual clock."""
    with FakeTwelveData(credits_per_minute=1_000, credits_per_day=100_000, api_key=API_KEY, clock=clock.epoch) as f:
        yield f


MakeProvider = Callable[..., TwelveDataProvider]


@pytest.fixture
def make_provider(clock: ManualClock) -> Iterator[MakeProvider]:
    """Build clients against a fake; sleeps go to the manual clock, backoffs are 1 s then 2 s."""
    built: list[TwelveDataProvider] = []

    def make(
        fake: FakeTwelveData,
        *,
        api_key: str = API_KEY,
        budget: CreditBudget | None = None,
        circuit: CircuitBreaker | None = None,
        dividends: DividendMode = "off",
        **config: Any,
    ) -> TwelveDataProvider:
        settings = {"retry_attempts": 3, "backoff_s": 1.0, "backoff_max_s": 8.0, **config}
        transport = TwelveDataTransport(
            api_key=api_key,
            config=TransportConfig(base_url=fake.url, **settings),
            budget=budget,
            circuit=circuit,
            clock=clock,
            sleep=clock.sleep,
        )
        max_symbols = budget.minute_limit if budget is not None else 120
        provider = TwelveDataProvider(transport, clock=clock, max_symbols_per_call=max_symbols, dividends=dividends)
        built.append(provider)
        return provider

    yield make
    for provider in built:
        provider.close()


@pytest.fixture
def redis() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=2)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis: Redis) -> Iterator[str]:
    """A fresh key namespace for one test, deleted afterwards."""
    prefix = f"test-providers:{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = list(redis.scan_iter(match=f"*{prefix}*"))  # budget keys start with a hash tag
    if keys:
        redis.delete(*keys)
