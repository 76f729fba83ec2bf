"""Queries for assets and daily prices, including the bulk upsert the ingestion path uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, text, update

from autoindex.models import Asset, DailyPrice

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class PriceRow(NamedTuple):
    asset_id: int
    date: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int | None


def active_assets(session: Session) -> list[Asset]:
    """Every asset the pipeline refreshes: the universe, the benchmark and the FX pairs."""
    return list(session.scalars(select(Asset).where(Asset.is_active).order_by(Asset.symbol)))


def assets_by_symbol(session: Session, symbols: Sequence[str]) -> dict[str, Asset]:
    return {a.symbol: a for a in session.scalars(select(Asset).where(Asset.symbol.in_(list(symbols))))}


def last_price_dates(session: Session) -> dict[int, date]:
    """The newest stored bar per asset, one index-only scan of the (asset_id, date) key."""
    rows = session.execute(select(DailyPrice.asset_id, func.max(DailyPrice.date)).group_by(DailyPrice.asset_id))
    return {asset_id: last for asset_id, last in rows}


def mark_checked_through(session: Session, asset_ids: Sequence[int], through: date) -> None:
    session.execute(
        update(Asset)
        .where(Asset.id.in_(list(asset_ids)))
        .where((Asset.prices_checked_through.is_(None)) | (Asset.prices_checked_through < through))
        .values(prices_checked_through=through)
    )


_PG_UPSERT = text(
    """
    INSERT INTO daily_prices (asset_id, date, open, high, low, close, volume, source, ingested_at)
    SELECT a, d, o, h, l, c, v, :source, :ingested_at
    FROM unnest(CAST(:asset_ids AS integer[]), CAST(:dates AS date[]), CAST(:opens AS numeric[]),
                CAST(:highs AS numeric[]), CAST(:lows AS numeric[]), CAST(:closes AS numeric[]),
                CAST(:volumes AS bigint[])) AS t(a, d, o, h, l, c, v)
    ON CONFLICT (asset_id, date) DO UPDATE SET
        open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
        volume = EXCLUDED.volume, source = EXCLUDED.source, ingested_at = EXCLUDED.ingested_at
    """
)
_CHUNK = 20_000


def upsert_prices(session: Session, rows: Sequence[PriceRow], *, source: str, ingested_at: datetime) -> int:
    """Insert or update bars by (asset_id, date) in the caller's transaction; returns the rows written.

    On PostgreSQL each chunk is one statement over parallel arrays (``unnest``), so the cost is one
    round trip per 20,000 rows rather than one per row.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            columns = list(zip(*chunk, strict=True))
            session.execute(
                _PG_UPSERT,
                {
                    "asset_ids": list(columns[0]),
                    "dates": list(columns[1]),
                    "opens": [str(v) for v in columns[2]],
                    "highs": [str(v) for v in columns[3]],
                    "lows": [str(v) for v in columns[4]],
                    "closes": [str(v) for v in columns[5]],
                    "volumes": list(columns[6]),
                    "source": source,
                    "ingested_at": ingested_at,
                },
            )
        return len(rows)
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(DailyPrice)
    statement = statement.on_conflict_do_update(
        index_elements=[DailyPrice.asset_id, DailyPrice.date],
        set_={c: statement.excluded[c] for c in ("open", "high", "low", "close", "volume", "source", "ingested_at")},
    )
    session.execute(statement, [{**row._asdict(), "source": source, "ingested_at": ingested_at} for row in rows])
    return len(rows)
