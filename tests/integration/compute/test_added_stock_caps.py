"""Stocks an admin adds, through to the market-cap leg: one that SEC's ticker map names gets EDGAR's counts
(``edgar``), one it lacks falls back by the documented rule (``equal_fallback``, no filing), a fund is ``excluded``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
from autoindex.index.compute import run_compute
from autoindex.index.models import ComputeRun
from autoindex.market.admin import put_universe
from autoindex.market.edgar_client import EdgarClient
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.schemas import UniverseChange
from autoindex.market.share_counts import refresh_share_counts
from autoindex.market.ticker_cache import MemoryTickerCache
from autoindex_dev.fake_edgar import FakeEdgar
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from tests.conftest import clear_process_caches
from tests.integration.compute.seeding import refresh, seeded_market
from tests.pipeline_fixtures import RecordingDispatcher

ADMIN = Principal(
    kind="user", user_id=uuid.uuid4(), email="a@example.com", role="admin", scopes=scopes_for_role("admin")
)


@pytest.fixture(scope="module")
def seeded(migrated: Engine) -> Iterator[RecordingDispatcher]:
    with seeded_market() as dispatcher:
        yield dispatcher


def _add(symbol: str, asset_type: str) -> None:
    change = UniverseChange(name=symbol, asset_type=asset_type, currency="USD")
    meta = RequestMeta(request_id="t", source_ip=None)
    put_universe(uow=UnitOfWork(), principal=ADMIN, symbol=symbol, change=change, meta=meta)


def test_an_added_stock_absent_from_secs_map_falls_back_and_says_so(
    seeded: RecordingDispatcher, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("PROVIDER_KEY_PREFIX", f"test-caps-{uuid.uuid4().hex[:10]}")  # no ticker map cached
    clear_process_caches()
    for symbol, kind in (("NFLX", "stock"), ("ZZZZ", "stock"), ("QQQ", "etf")):
        _add(symbol, kind)
    refresh(seeded)  # their prices (the demo provider's); the compute runs, still without caps
    try:
        with FakeEdgar() as fake:
            client = EdgarClient(base_url=fake.url, user_agent="AutoIndex tests ops@example.com", backoff_s=0.0)
            outcome = refresh_share_counts(client, cache=MemoryTickerCache(ttl_s=3600))
        assert outcome.resolved == {"NFLX": 1065280} and outcome.unresolved == ["ZZZZ"]
        computed = run_compute(uow=UnitOfWork(), trigger="cli")
        with UnitOfWork(read_only=True) as uow:
            run = uow.session.get(ComputeRun, computed.run_id)
            assert run is not None and run.disclosure is not None
            disclosed = run.disclosure
        sources = disclosed["cap_sources"]
        assert {s: v["source"] for s, v in sources.items()} == {
            "AAPL": "edgar",
            "MSFT": "edgar",
            "NFLX": "edgar",  # found in the map, then its filings
            "ZZZZ": "equal_fallback",  # a stock with no CIK: an equal share stands in, as docs/index-method.md says
            "QQQ": "excluded",  # a fund: no capitalisation by rule
        }
        assert sources["ZZZZ"]["filed"] is None and date.fromisoformat(sources["NFLX"]["filed"])
        assert disclosed["market_cap_leg"] == "partial" and "ZZZZ" in (disclosed["market_cap_note"] or "")
    finally:
        with UnitOfWork() as uow:
            uow.session.execute(delete(AssetShareCount))
            uow.session.execute(delete(Asset).where(Asset.symbol.in_(["NFLX", "ZZZZ", "QQQ"])))
        run_compute(uow=UnitOfWork(), trigger="cli", full=True)
