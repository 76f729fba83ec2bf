"""Ingestion throughput: 1,000,000 bars (500 symbols x 2,000 days) through the real upsert path against
PostgreSQL ``COPY`` of the same rows into the same empty table, in the same run (goal <= 2x).

The upsert path is the one the ingest job runs: ``repos.market.upsert_prices`` in one unit of
work (``INSERT ... SELECT FROM unnest(...) ON CONFLICT (asset_id, date) DO UPDATE``).
"""

from __future__ import annotations

import io
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

os.environ.setdefault("STAGE", "bench")
os.environ.setdefault("MARKET_DATA_PROVIDER", "demo")  # required outside the local stage

from autoindex.market.batch_results import PriceRow

from bench._common import report
from bench._db import bench_database

SYMBOLS = 500
DAYS = 2_000


def _rows(asset_ids: list[int]) -> list[PriceRow]:
    start = date(2018, 1, 1)
    days = [start + timedelta(days=i) for i in range(DAYS)]
    rows = []
    for n, asset_id in enumerate(asset_ids):
        base = 50 + n % 300
        for i, day in enumerate(days):
            close = Decimal(base + (i % 37) * 0.25).quantize(Decimal("0.0001"))
            rows.append(PriceRow(asset_id, day, close, close + Decimal(1), close - Decimal(1), close, 1_000_000 + i))
    return rows


def main() -> int:
    from autoindex.db.engine import write_engine
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import Asset
    from autoindex.market.queries import upsert_prices
    from autoindex.settings import get_settings
    from sqlalchemy import text

    with bench_database():
        with UnitOfWork() as uow:
            uow.session.add_all(
                Asset(symbol=f"B{i:04d}", name=f"Bench {i}", asset_type="stock", currency="USD") for i in range(SYMBOLS)
            )
        with UnitOfWork(read_only=True) as uow:
            ids = list(uow.session.scalars(text("SELECT id FROM assets WHERE symbol LIKE 'B%' ORDER BY id")))
        rows = _rows(ids)
        now = datetime.now(UTC)
        csv = io.BytesIO(
            "".join(
                f"{r[0]},{r[1].isoformat()},{r[2]},{r[3]},{r[4]},{r[5]},{r[6]},bench,{now.isoformat()}\n" for r in rows
            ).encode()
        )
        copies, upserts = [], []
        for _ in range(3):
            with write_engine().begin() as connection:
                connection.execute(text("TRUNCATE daily_prices"))
            csv.seek(0)
            raw = write_engine().raw_connection()
            try:
                started = time.perf_counter()
                cursor: Any = raw.cursor()  # pg8000's cursor: COPY takes a stream
                # The same statement budget as the upsert path's merge (INGEST_STATEMENT_TIMEOUT_MS).
                cursor.execute(f"SET LOCAL statement_timeout = {get_settings().ingest_statement_timeout_ms}")
                cursor.execute("COPY daily_prices FROM STDIN WITH (FORMAT csv)", stream=csv)
                raw.commit()
                copies.append(time.perf_counter() - started)
            finally:
                raw.close()
            with write_engine().begin() as connection:
                connection.execute(text("TRUNCATE daily_prices"))
            started = time.perf_counter()
            with UnitOfWork() as uow:
                written = upsert_prices(uow.session, rows, source="bench", ingested_at=now)
            upserts.append(time.perf_counter() - started)
            assert written == len(rows) == SYMBOLS * DAYS
        with UnitOfWork(read_only=True) as uow:
            assert uow.session.scalar(text("SELECT count(*) FROM daily_prices")) == SYMBOLS * DAYS
        print(f"  {len(rows):,} rows; best COPY {min(copies):.2f} s, best upsert {min(upserts):.2f} s")
        ok = report("ingest 1M rows: upsert path vs COPY", upserts, copies, goal=2.0, unit="ms")
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
