"""The weekly EDGAR share-count refresh of the default universe: requests made and wall time, against the floor
SEC's fair-access limit sets (10 requests a second, so ``requests / 10`` seconds).

The real job (``market.share_counts.refresh_share_counts``) runs against the fake EDGAR on 127.0.0.1 over
HTTP, with the real PostgreSQL (a throwaway database, migrated, the seeded universe: seven stocks with
their CIKs, funds excluded by rule) and Redis (EDGAR's shared circuit and the cached ticker map), as
``source_from_settings`` builds it. Wall time covers the whole job: fetching, parsing and storing.

The pace (shared by every process through Redis, ``ratelimit/pace.py``) spaces requests ``1 / EDGAR_MAX_RPS``
apart and the first needs no wait, so ``n`` requests take at least ``(n - 1) / rps``: at SEC's 10/s that is a
little under the ``n / 10`` floor (0.9x for seven), which is why the default pace is 8/s. Past ``rps``
requests in a row a request also waits for the 0.1 s margin the pace keeps per second (the ninth at 8/s).
Each run starts on a quiet pace, as the weekly job does: runs here follow each other within a second, so the
pace's key is cleared before each.

Rows:
1. the steady state: every stock has a CIK (seven companyfacts requests), at the default pace
   (``EDGAR_MAX_RPS=8``) and at SEC's limit (10);
2. the week after an admin added a stock (NFLX) without a CIK: the ticker map once, then its filings;
3. the week after that: the CIK is stored, the map is not asked for.

Run: ``.venv/bin/python -m bench.edgar_refresh`` (PostgreSQL at ``TEST_DATABASE_URL``, Redis at ``TEST_REDIS_URL``).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

from bench._db import bench_database

AGENT = "AutoIndex benchmark ops@example.com"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RUNS = 3


def _configure(url: str, rps: float, prefix: str) -> None:
    from autoindex.clients import get_redis
    from autoindex.settings import get_settings

    os.environ.update(
        {
            "STAGE": "test",
            "JWT_SIGNING_KEY": "bench-signing-key-0123456789abcdef-0123456789",
            "API_KEY_PEPPER": "bench-api-key-pepper-0123456789abcdef-012345",
            "REDIS_URL": REDIS_URL,
            "MARKET_DATA_PROVIDER": "demo",  # no prices are fetched here
            "SHARE_COUNT_SOURCE": "edgar",
            "EDGAR_BASE_URL": url,
            "EDGAR_USER_AGENT": AGENT,
            "EDGAR_MAX_RPS": str(rps),
            "PROVIDER_KEY_PREFIX": prefix,
        }
    )
    get_settings.cache_clear()
    get_redis.cache_clear()


def _quiet_pace(prefix: str) -> None:
    """Forget the slots the previous run took, as a week between two weekly runs would."""
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    client.delete(f"{{{prefix}:edgar}}:pace")
    client.close()


def _run(fake: object, label: str, rps: float, prefix: str) -> tuple[int, float, str]:
    from autoindex.market.share_counts import cache_from_settings, refresh_share_counts, source_from_settings
    from autoindex_dev.fake_edgar import FakeEdgar

    assert isinstance(fake, FakeEdgar)
    _configure(fake.url, rps, prefix)
    _quiet_pace(prefix)
    before = len(fake.requests)
    source = source_from_settings()
    started = time.perf_counter()
    outcome = refresh_share_counts(source, cache=cache_from_settings())
    wall = time.perf_counter() - started
    requests = len(fake.requests) - before
    floor = requests / 10
    print(
        f"{label}: {requests} requests ({outcome.with_counts} of {outcome.assets} stocks with counts, "
        f"ticker map {outcome.ticker_map}), {wall:.3f} s vs the 10/s floor {floor:.2f} s -> {wall / floor:.2f}x"
    )
    return requests, wall, outcome.ticker_map


def main() -> int:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset
    from autoindex_dev.fake_edgar import FakeEdgar
    from redis import Redis

    prefix = f"bench-edgar-{uuid.uuid4().hex[:8]}"
    with bench_database(), FakeEdgar() as fake:
        try:
            for rps in (8.0, 10.0):
                ratios = []
                for n in range(RUNS):
                    requests, wall, _ = _run(fake, f"default universe, EDGAR_MAX_RPS={rps:g}, run {n + 1}", rps, prefix)
                    ratios.append(wall / (requests / 10))
                print(f"  median over {RUNS} runs at {rps:g}/s: {statistics.median(ratios):.2f}x the 10/s floor")
            with UnitOfWork() as uow:
                uow.session.add(Asset(symbol="NFLX", name="Netflix", asset_type="stock", currency="USD"))
            _run(fake, "the week an admin added NFLX (no CIK; map not cached)", 8.0, prefix)
            _run(fake, "the week after (CIK stored)", 8.0, prefix)
        finally:
            client = Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"*{prefix}*"))
            if keys:
                client.delete(*keys)
            client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
