"""A stock an admin adds gets its SEC CIK: at once from the cached ticker map, else from the weekly share-count job
(against the fake EDGAR over HTTP), and then its share counts; the operator can also set one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.market.models import Asset, AssetShareCount
from autoindex.market.share_counts import cache_from_settings, refresh_share_counts, source_from_settings
from autoindex_dev.fake_edgar import TICKERS_PATH, FakeEdgar
from sqlalchemy import func, select

from tests.edgar_fixtures import edgar_source
from tests.functions.conftest import Account, Client
from tests.pipeline_fixtures import RecordingDispatcher

STOCK = {"asset_type": "stock", "currency": "USD", "exchange": "NASDAQ"}


@pytest.fixture
def fake(market: pytest.MonkeyPatch) -> Iterator[FakeEdgar]:
    prefix = f"test-admin-cik-{uuid.uuid4().hex[:10]}"
    with edgar_source(market, prefix) as server:
        yield server


def _put(api: Client, admin: Account, symbol: str, **body: Any) -> dict[str, Any]:
    answer = api.request("PUT", f"/v1/admin/universe/{symbol}", headers=admin.bearer(), body={"name": symbol, **body})
    assert answer.status in (200, 201), answer.body
    result: dict[str, Any] = answer.json()
    return result


def _share_counts(symbol: str) -> int:
    with UnitOfWork(read_only=True) as uow:
        return (
            uow.session.scalar(
                select(func.count()).select_from(AssetShareCount).join(Asset).where(Asset.symbol == symbol)
            )
            or 0
        )


def test_an_added_stock_gets_its_cik_from_the_weekly_job_then_its_share_counts(
    admin_api: Client, admin: Account, fake: FakeEdgar, dispatcher: RecordingDispatcher
) -> None:
    added = _put(admin_api, admin, "NFLX", **STOCK)
    assert added["cik"] is None  # nothing cached yet, and a request never waits on SEC
    assert fake.requests == []

    outcome = refresh_share_counts(source_from_settings(), cache=cache_from_settings())
    assert outcome.resolved == {"NFLX": 1065280} and outcome.ticker_map == "fetched"
    assert [p for _, p in fake.requests].count(TICKERS_PATH) == 1
    assert _put(admin_api, admin, "NFLX")["cik"] == 1065280
    assert _share_counts("NFLX") > 40

    # With the map cached, the next stock's CIK is there in the admin's answer, without a request to SEC
    asked = len(fake.requests)
    added = _put(admin_api, admin, "brk.b", **STOCK)
    assert added["symbol"] == "BRK.B" and added["cik"] == 1067983
    assert _put(admin_api, admin, "GOOG", **STOCK)["cik"] is None  # GOOGL holds Alphabet's: not counted twice
    assert _put(admin_api, admin, "ZZZZ", **STOCK)["cik"] is None  # not in SEC's map
    assert _put(admin_api, admin, "ZZZZ", cik=1234567)["cik"] == 1234567  # the operator knows better
    assert len(fake.requests) == asked
    audit = admin_api.get("/v1/admin/audit", headers=admin.bearer(), query="action=admin.universe.put").json()
    details = {e["target_id"]: e["details"] for e in reversed(audit["items"])}
    assert details["BRK.B"]["cik_from_ticker_map"] == 1067983 and "cik_from_ticker_map" not in details["GOOG"]
    assert dispatcher.drain(60)
