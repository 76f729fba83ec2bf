"""Four concurrent clients, one plan of 8 credits a "minute", one Redis budget: zero 429s, the budget used.

The minute is shortened to 2 s in both the fake and the budget (their constructor parameters) so
that several windows pass in a few seconds. Both align windows to the epoch, as the real API and
the budget align them to the minute.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date

import pytest
from autoindex.market.providers.budget import RedisCreditBudget
from autoindex.market.providers.protocol import SymbolBars
from autoindex.market.providers.sessions import utc_now
from autoindex.market.providers.twelvedata.client import TwelveDataProvider
from autoindex.market.providers.twelvedata.transport import TransportConfig, TwelveDataTransport
from autoindex_dev.fake_twelvedata.server import FakeTwelveData
from redis import Redis

from tests.conftest import REDIS_URL
from tests.providers.conftest import API_KEY

CLIENTS = 4
CALLS = 6  # per client, one symbol (one credit) each
LIMIT = 8
WINDOW_S = 2.0
SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "TSLA", "NVDA", "SPY", "GLD", "SLV", "USO", "TLT"]


def _ingest(url: str, prefix: str, worker: int, outcomes: list[object]) -> None:
    client = Redis.from_url(REDIS_URL)
    budget = RedisCreditBudget(
        client, minute_limit=LIMIT, day_limit=800, key_prefix=prefix, window_ms=int(WINDOW_S * 1000), guard_ms=300
    )
    transport = TwelveDataTransport(
        api_key=API_KEY,
        config=TransportConfig(base_url=url, budget_max_wait_s=30, minute_limit_retries=0),
        budget=budget,
        clock=utc_now,
        sleep=time.sleep,
    )
    provider = TwelveDataProvider(transport, max_symbols_per_call=LIMIT)
    try:
        for call in range(CALLS):
            symbol = SYMBOLS[(worker * CALLS + call) % len(SYMBOLS)]
            outcomes.append(provider.daily_bars([symbol], date(2024, 3, 4), date(2024, 3, 8))[symbol])
    except Exception as exc:  # reported to the test thread
        outcomes.append(exc)
    finally:
        provider.close()
        client.close()


@pytest.mark.slow
def test_four_clients_through_the_budget_never_provoke_a_429(key_prefix: str) -> None:
    with FakeTwelveData(credits_per_minute=LIMIT, credits_per_day=800, api_key=API_KEY, window_s=WINDOW_S) as fake:
        outcomes: list[object] = []
        threads = [
            threading.Thread(target=_ingest, args=(fake.url, key_prefix, worker, outcomes)) for worker in range(CLIENTS)
        ]
        time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)  # begin just after a window boundary
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=40)
        elapsed = time.monotonic() - started
        requests = fake.requests
        assert fake.status_count(429) == 0
    # Every call succeeded...
    assert len(outcomes) == CLIENTS * CALLS
    assert all(isinstance(o, SymbolBars) and len(o.bars) == 5 for o in outcomes), outcomes
    # ...no window of the fake counted more than the plan, and the budget was used to the full:
    per_window = Counter(int(r.at // WINDOW_S) for r in requests)
    assert max(per_window.values()) == LIMIT
    assert list(per_window.values()) == [LIMIT] * 3, per_window  # 24 credits: three full windows in a row
    # The wall time is set by the budget (two window turns), not by the code.
    assert 2 * WINDOW_S - 0.5 < elapsed < 3 * WINDOW_S
