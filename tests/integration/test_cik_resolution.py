"""CIKs for stocks an admin adds, from SEC's ticker map (the fake over real HTTP, cached in the test Redis), and
EDGAR's circuit shared by every process: a broken map writes nothing partial and stops nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.edgar_client import EdgarCircuitOpen, EdgarClient, EdgarThrottled
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.share_counts import (
    DemoCompanyFacts,
    cache_from_settings,
    refresh_share_counts,
    source_from_settings,
)
from autoindex.market.ticker_cache import MemoryTickerCache
from autoindex_dev.fake_edgar import TICKERS_PATH, FakeEdgar
from sqlalchemy import delete, select, update

from tests.edgar_fixtures import AGENT, edgar_source
from tests.lambda_http import ROOT

COMPANYFACTS = "/api/xbrl/companyfacts/CIK{:010d}.json"


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[FakeEdgar]:
    """The fake EDGAR, configured as the job's source, with EDGAR's Redis keys (circuit, ticker map) this test's own."""
    prefix = f"test-cik-{uuid.uuid4().hex[:10]}"
    with edgar_source(market, prefix, max_rps=10) as server:
        yield server


def _add(symbol: str) -> None:
    with UnitOfWork() as uow:
        uow.session.add(Asset(symbol=symbol, name=symbol, asset_type="stock", currency="USD", in_universe=True))


def _ciks() -> dict[str, int | None]:
    with UnitOfWork(read_only=True) as uow:
        return {s: c for s, c in uow.session.execute(select(Asset.symbol, Asset.cik))}


def _counted() -> dict[str, set[tuple[str, date]]]:
    with UnitOfWork(read_only=True) as uow:
        rows = uow.session.execute(
            select(Asset.symbol, AssetShareCount.accn, AssetShareCount.end_date).join(
                Asset, Asset.id == AssetShareCount.asset_id
            )
        )
        out: dict[str, set[tuple[str, date]]] = {}
        for symbol, accn, end in rows:
            out.setdefault(symbol, set()).add((accn, end))
        return out


def _client(fake: FakeEdgar, **kw: object) -> EdgarClient:
    return EdgarClient(base_url=fake.url, user_agent=AGENT, backoff_s=0.0, **kw)  # type: ignore[arg-type]


def _paths(fake: FakeEdgar, since: int = 0) -> list[str]:
    return [path for _, path in fake.requests[since:]]


def test_added_stocks_get_their_cik_from_one_map_request_then_their_share_counts(fake: FakeEdgar) -> None:
    _add("NFLX")  # in SEC's map, with filings
    _add("BRK.B")  # Twelve Data's way of writing SEC's BRK-B; a multi-class issuer without an entity total
    _add("GOOG")  # Alphabet's second class: its CIK is GOOGL's already
    _add("ZZZZ")  # not in SEC's map
    with UnitOfWork() as uow:  # a seeded fund: never looked up, excluded from the cap leg by rule
        uow.session.execute(update(Asset).where(Asset.symbol == "TLT").values(is_active=True))
    outcome = refresh_share_counts(source_from_settings(), cache=cache_from_settings())

    assert outcome.ticker_map == "fetched"
    assert outcome.resolved == {"BRK.B": 1067983, "NFLX": 1065280}
    assert outcome.unresolved == ["GOOG", "ZZZZ"]
    # The stocks with a CIK first, then the map once, then the filings of the stocks it named
    assert _paths(fake) == [
        COMPANYFACTS.format(320193),
        COMPANYFACTS.format(789019),
        TICKERS_PATH,
        COMPANYFACTS.format(1067983),
        COMPANYFACTS.format(1065280),
    ]
    ciks = _ciks()
    assert [ciks[s] for s in ("NFLX", "BRK.B", "GOOG", "ZZZZ", "TLT")] == [1065280, 1067983, None, None, None]
    counted = _counted()
    assert set(counted) == {"AAPL", "MSFT", "NFLX"} and len(counted["NFLX"]) > 40
    assert outcome.assets == 4 and outcome.with_counts == 3

    # A week later: the map is still cached, so the stocks still without a CIK cost no request
    asked = len(fake.requests)
    again = refresh_share_counts(source_from_settings(), cache=cache_from_settings())
    assert again.ticker_map == "cached" and again.resolved == {} and again.unresolved == ["GOOG", "ZZZZ"]
    assert TICKERS_PATH not in _paths(fake, asked) and len(_paths(fake, asked)) == 4
    assert _counted() == counted


@pytest.mark.parametrize("fault", ["truncated", "garbage", "too_many", "throttle"])
def test_a_broken_map_writes_nothing_partial_and_the_known_stocks_are_still_refreshed(
    fake: FakeEdgar, fault: str
) -> None:
    _add("NFLX")
    fake.faults.after = 2  # AAPL's and MSFT's filings answer; the third request, the map, is the broken one
    setattr(fake.faults, fault, 1)
    outcome = refresh_share_counts(source_from_settings(), cache=cache_from_settings())

    assert outcome.ticker_map.startswith("failed: ") and outcome.resolved == {} and outcome.unresolved == ["NFLX"]
    assert _paths(fake) == [COMPANYFACTS.format(320193), COMPANYFACTS.format(789019), TICKERS_PATH]
    assert _ciks()["NFLX"] is None
    counted = _counted()
    assert set(counted) == {"AAPL", "MSFT"} and outcome.facts == sum(len(v) for v in counted.values())
    assert cache_from_settings().lookup(["NFLX"]) is None  # nothing of the broken map was cached

    asked = len(fake.requests)
    if fault in ("too_many", "throttle"):
        # SEC said "slow down": EDGAR's shared circuit keeps every process away for the cooldown
        with pytest.raises(EdgarCircuitOpen):
            refresh_share_counts(source_from_settings(), cache=cache_from_settings())
        assert len(fake.requests) == asked and _counted() == counted
    else:
        # An unreadable document is one failure, not an open circuit: the next run reads the map and resolves
        retried = refresh_share_counts(source_from_settings(), cache=cache_from_settings())
        assert retried.resolved == {"NFLX": 1065280} and "NFLX" in _counted()


def _cli_share_counts() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", "share-counts"],
        cwd=ROOT,
        check=False,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_throttle_met_by_one_process_keeps_another_process_away(fake: FakeEdgar) -> None:
    fake.faults.throttle = 1
    with pytest.raises(EdgarThrottled):
        refresh_share_counts(source_from_settings(), cache=cache_from_settings())
    asked = len(fake.requests)
    assert asked == 1

    other = _cli_share_counts()  # another process, configured alike: its own Redis connection
    assert other.returncode == 1, other.stdout + other.stderr
    assert "EDGAR circuit open" in other.stdout and "nothing stored" in other.stdout
    assert len(fake.requests) == asked  # it asked SEC nothing
    assert _counted() == {}


def test_outages_seen_by_one_client_open_the_circuit_for_another(fake: FakeEdgar) -> None:
    # Two containers: each its own client and Redis connection, one circuit (EDGAR_CIRCUIT_FAILURES=3)
    first, second = source_from_settings(), source_from_settings()
    assert isinstance(first, EdgarClient) and isinstance(second, EdgarClient)
    fake.faults.server_errors = 100
    for symbol in ("AAPL", "MSFT", "NVDA"):
        with pytest.raises(Exception, match="unavailable"):
            first.companyfacts(symbol, 320193)
    asked = len(fake.requests)
    fake.faults.server_errors = 0
    with pytest.raises(EdgarCircuitOpen):
        second.companyfacts("AAPL", 320193)
    with pytest.raises(EdgarCircuitOpen):
        second.company_tickers()
    assert len(fake.requests) == asked
    first.close()
    second.close()
    # Without Redis the client keeps its own circuit: a fresh client (another process) is not held back
    assert _client(fake).companyfacts("AAPL", 320193) is not None


def test_the_demo_market_resolves_like_edgar(market: pytest.MonkeyPatch) -> None:
    # `make run` (SHARE_COUNT_SOURCE=demo) goes through the same resolution: the demo's map, then its filings
    _add("NFLX")
    _add("BRK.B")
    outcome = refresh_share_counts(DemoCompanyFacts(), cache=MemoryTickerCache(ttl_s=3600))
    assert outcome.ticker_map == "fetched" and outcome.resolved == {"BRK.B": 1067983, "NFLX": 1065280}
    demo = _counted()
    assert set(demo) == {"AAPL", "MSFT", "NFLX"}
    with UnitOfWork() as uow:
        uow.session.execute(delete(AssetShareCount))
    with FakeEdgar() as fake:
        refresh_share_counts(_client(fake), cache=None)
    assert _counted() == demo  # the fake serves the same documents over HTTP
