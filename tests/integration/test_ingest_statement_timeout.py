"""The ingest merge runs under its own statement timeout, not the request-sized default that a big batch outlasts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.conftest import clear_process_caches

SYMBOLS, DAYS = 40, 2_000  # 80,000 bars: far more than the 100 ms default below allows for the merge


def test_a_large_batch_merges_under_the_ingest_timeout(migrated: Engine, fresh_settings: pytest.MonkeyPatch) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.batch_results import PriceRow
    from autoindex.market.models import Asset, DailyPrice
    from autoindex.market.queries import upsert_prices

    fresh_settings.setenv("DB_STATEMENT_TIMEOUT_MS", "100")  # what a request may take
    clear_process_caches()
    tag = uuid.uuid4().hex[:5].upper()
    with UnitOfWork() as uow:
        assets = [Asset(symbol=f"T{tag}{i:03d}", name="t", asset_type="stock", currency="USD") for i in range(SYMBOLS)]
        uow.session.add_all(assets)
        uow.session.flush()
        ids = [a.id for a in assets]
    start = date(2015, 1, 1)
    rows = [
        PriceRow(asset_id, start + timedelta(days=d), Decimal(10), Decimal(11), Decimal(9), Decimal(10), 100)
        for asset_id in ids
        for d in range(DAYS)
    ]
    with UnitOfWork() as uow:
        assert upsert_prices(uow.session, rows, source="test", ingested_at=datetime.now(UTC)) == len(rows)
    with UnitOfWork(read_only=True) as uow:
        stored = uow.session.scalar(select(func.count()).where(DailyPrice.asset_id.in_(ids)))
    assert stored == len(rows)
