"""Queries for assets and daily prices, including the bulk upsert the ingestion path uses."""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, exists, func, select, text, update

from autoindex.db import socket_timeout
from autoindex.market.batch_results import PriceRow
from autoindex.market.models import (
    ACTIVE_RUN_STATUSES,
    Asset,
    AssetDividend,
    AssetSplit,
    DailyPrice,
    RefreshBatch,
    RefreshRun,
)
from autoindex.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.market.providers.protocol import Dividend, Split


def active_assets(session: Session) -> list[Asset]:
    """Every asset the pipeline refreshes: the universe, the benchmark and the FX pairs."""
    return list(session.scalars(select(Asset).where(Asset.is_active).order_by(Asset.symbol)))


def assets_by_symbol(session: Session, symbols: Sequence[str]) -> dict[str, Asset]:
    return {a.symbol: a for a in session.scalars(select(Asset).where(Asset.symbol.in_(list(symbols))))}


def usable_as_benchmark(session: Session, symbols: Sequence[str]) -> set[str]:
    """Those of ``symbols`` a benchmark can be measured on: stored, active assets with at least one close."""
    priced = exists().where(DailyPrice.asset_id == Asset.id)
    return set(session.scalars(select(Asset.symbol).where(Asset.symbol.in_(list(symbols)), Asset.is_active, priced)))


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


def mark_splits_checked_through(session: Session, asset_ids: Sequence[int], through: date) -> None:
    """The assets' splits were read off a whole history ending ``through``."""
    if asset_ids:
        session.execute(update(Asset).where(Asset.id.in_(list(asset_ids))).values(splits_checked_through=through))


# Bulk path on PostgreSQL: COPY the batch into a transaction-local temp table, then one set-based upsert.
_PG_STAGE = text(
    "CREATE TEMP TABLE IF NOT EXISTS incoming_prices "
    "(asset_id integer, date date, open numeric, high numeric, low numeric, close numeric, volume bigint) "
    "ON COMMIT DELETE ROWS"
)
_PG_MERGE = text(
    """
    INSERT INTO daily_prices (asset_id, date, open, high, low, close, volume, source, ingested_at)
    SELECT asset_id, date, open, high, low, close, volume, :source, :ingested_at FROM incoming_prices
    ON CONFLICT (asset_id, date) DO UPDATE SET
        open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
        volume = EXCLUDED.volume, source = EXCLUDED.source, ingested_at = EXCLUDED.ingested_at
    """
)


def _csv(rows: Sequence[PriceRow]) -> io.BytesIO:
    lines = [
        f"{r.asset_id},{r.date.isoformat()},{r.open},{r.high},{r.low},{r.close},{'' if r.volume is None else r.volume}"
        "\n"
        for r in rows
    ]
    return io.BytesIO("".join(lines).encode())


def upsert_prices(session: Session, rows: Sequence[PriceRow], *, source: str, ingested_at: datetime) -> int:
    """Insert or update bars by (asset_id, date) in the caller's transaction; returns the rows written.

    On PostgreSQL the rows are streamed with ``COPY`` into a temporary table (emptied at commit)
    and merged in one ``INSERT ... SELECT ... ON CONFLICT``: a handful of round trips whatever
    the batch size, and the CHECK constraint still judges every row.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # The merge of a large batch outlasts the request-sized default; this transaction gets the ingest budget.
        socket_timeout.allow_statements_of(session, get_settings().ingest_statement_timeout_ms)
        session.execute(_PG_STAGE)
        # pg8000's own cursor: COPY FROM STDIN takes a ``stream``, which the DB-API protocol does not know.
        cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "COPY incoming_prices (asset_id, date, open, high, low, close, volume) FROM STDIN WITH (FORMAT csv)",
                stream=_csv(rows),
            )
        finally:
            cursor.close()
        session.execute(_PG_MERGE, {"source": source, "ingested_at": ingested_at})
        session.execute(text("TRUNCATE incoming_prices"))
        return len(rows)
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(DailyPrice)
    statement = statement.on_conflict_do_update(
        index_elements=[DailyPrice.asset_id, DailyPrice.date],
        set_={c: statement.excluded[c] for c in ("open", "high", "low", "close", "volume", "source", "ingested_at")},
    )
    session.execute(statement, [{**row._asdict(), "source": source, "ingested_at": ingested_at} for row in rows])
    return len(rows)


def active_run(session: Session) -> RefreshRun | None:
    """The refresh run still queued or running, if any (the database allows one at a time)."""
    return session.scalars(select(RefreshRun).where(RefreshRun.status.in_(ACTIVE_RUN_STATUSES))).first()


def run_by_key(session: Session, key: str) -> RefreshRun | None:
    """The run an idempotency key (a schedule event id or an admin's Idempotency-Key) started."""
    return session.scalars(select(RefreshRun).where(RefreshRun.idempotency_key == key)).one_or_none()


def run_for_update(session: Session, run_id: uuid.UUID) -> RefreshRun:
    """A run, row-locked until the transaction ends: its counters are added to by concurrent batches."""
    return session.scalars(select(RefreshRun).where(RefreshRun.id == run_id).with_for_update()).one()


def batch_for_update(session: Session, run_id: uuid.UUID, seq: int) -> RefreshBatch | None:
    """One batch, row-locked: a duplicate delivery waits, then sees what the first one did."""
    return session.scalars(
        select(RefreshBatch).where(RefreshBatch.run_id == run_id, RefreshBatch.seq == seq).with_for_update()
    ).one_or_none()


def closes_between(
    session: Session, asset_ids: Sequence[int], start: date, end: date
) -> dict[int, dict[date, Decimal]]:
    """The stored closes of ``asset_ids`` over ``[start, end]``, by asset and date."""
    out: dict[int, dict[date, Decimal]] = {asset_id: {} for asset_id in asset_ids}
    rows = session.execute(
        select(DailyPrice.asset_id, DailyPrice.date, DailyPrice.close).where(
            DailyPrice.asset_id.in_(list(asset_ids)), DailyPrice.date >= start, DailyPrice.date <= end
        )
    )
    for asset_id, day, close in rows:
        out[asset_id][day] = close
    return out


def delete_history(session: Session, asset_id: int) -> int:
    """Every stored bar of one asset, in the caller's transaction (a revised history is replaced whole)."""
    result = session.execute(delete(DailyPrice).where(DailyPrice.asset_id == asset_id))
    return int(getattr(result, "rowcount", 0) or 0)


def frozen_closes(session: Session, asset_ids: Sequence[int], days: int) -> set[int]:
    """Up-to-date assets whose close was the same on each of their last ``days + 1`` bars while another's moved.

    Each asset is judged on its own bars, so a market holiday of one exchange (no bar for its stocks, one
    for the FX pairs) neither hides nor fakes a frozen feed; only assets with a bar on the newest date
    count (one without is stale, another check). ``days`` unchanged closes in a row is the index method's
    stale-feed rule (``docs/index-method.md``).
    """
    ids = list(asset_ids)
    if not ids:
        return set()
    rank = func.row_number().over(partition_by=DailyPrice.asset_id, order_by=DailyPrice.date.desc()).label("rank")
    ranked = (
        select(DailyPrice.asset_id, DailyPrice.date, DailyPrice.close, rank)
        .where(DailyPrice.asset_id.in_(ids))
        .subquery()
    )
    rows: list[tuple[int, date, Decimal]] = [
        (cast("int", a), cast("date", d), cast("Decimal", c))  # a subquery's columns carry no Python types
        for a, d, c in session.execute(
            select(ranked.c.asset_id, ranked.c.date, ranked.c.close).where(ranked.c.rank <= days + 1)
        )
    ]
    newest = max((day for _, day, _ in rows), default=None)
    closes: dict[int, list[Decimal]] = {}
    latest: dict[int, date] = {}
    for asset_id, day, close in rows:
        closes.setdefault(asset_id, []).append(close)
        latest[asset_id] = max(latest.get(asset_id, day), day)
    current = {a: seen for a, seen in closes.items() if latest[a] == newest and len(seen) == days + 1}
    frozen = {a for a, seen in current.items() if len(set(seen)) == 1}
    moved = any(len(set(seen)) > 1 for seen in current.values())
    return frozen if moved else set()


def dividends_between(session: Session, asset_id: int, start: date, end: date) -> dict[date, Decimal]:
    """One asset's stored dividends with ex-dates in ``[start, end]``."""
    rows = session.execute(
        select(AssetDividend.ex_date, AssetDividend.amount).where(
            AssetDividend.asset_id == asset_id, AssetDividend.ex_date >= start, AssetDividend.ex_date <= end
        )
    )
    return {day: amount for day, amount in rows}


def write_dividends(
    session: Session, asset_id: int, dividends: Sequence[Dividend], *, source: str, ingested_at: datetime
) -> int:
    """Insert or replace dividends by (asset_id, ex_date) in the caller's transaction; returns the rows written."""
    for dividend in dividends:
        session.merge(
            AssetDividend(
                asset_id=asset_id,
                ex_date=dividend.ex_date,
                amount=dividend.amount,
                source=source,
                ingested_at=ingested_at,
            )
        )
    return len(dividends)


def delete_dividends(session: Session, asset_id: int, ex_dates: Sequence[date] | None = None) -> int:
    """Some (``ex_dates``) or all of one asset's dividends, in the caller's transaction."""
    statement = delete(AssetDividend).where(AssetDividend.asset_id == asset_id)
    if ex_dates is not None:
        if not ex_dates:
            return 0
        statement = statement.where(AssetDividend.ex_date.in_(list(ex_dates)))
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def splits_between(session: Session, asset_id: int, start: date, end: date) -> dict[date, tuple[int, int]]:
    """One asset's stored splits effective in ``[start, end]``: date -> (shares_after, shares_before)."""
    rows = session.execute(
        select(AssetSplit.effective_date, AssetSplit.shares_after, AssetSplit.shares_before).where(
            AssetSplit.asset_id == asset_id, AssetSplit.effective_date >= start, AssetSplit.effective_date <= end
        )
    )
    return {day: (after, before) for day, after, before in rows}


def write_splits(
    session: Session, asset_id: int, splits: Sequence[Split], *, source: str, ingested_at: datetime
) -> int:
    """Insert or replace splits by (asset_id, effective_date) in the caller's transaction; returns the rows written."""
    for split in splits:
        session.merge(
            AssetSplit(
                asset_id=asset_id,
                effective_date=split.date,
                shares_after=split.shares_after,
                shares_before=split.shares_before,
                source=source,
                ingested_at=ingested_at,
            )
        )
    return len(splits)


def delete_splits(session: Session, asset_id: int, dates: Sequence[date]) -> int:
    if not dates:
        return 0
    statement = delete(AssetSplit).where(AssetSplit.asset_id == asset_id, AssetSplit.effective_date.in_(list(dates)))
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def closes_and_volumes_between(
    session: Session, asset_ids: Sequence[int], start: date, end: date
) -> dict[int, dict[date, tuple[Decimal, int | None]]]:
    """The stored closes and volumes of ``asset_ids`` over ``[start, end]``, by asset and date."""
    out: dict[int, dict[date, tuple[Decimal, int | None]]] = {asset_id: {} for asset_id in asset_ids}
    rows = session.execute(
        select(DailyPrice.asset_id, DailyPrice.date, DailyPrice.close, DailyPrice.volume).where(
            DailyPrice.asset_id.in_(list(asset_ids)), DailyPrice.date >= start, DailyPrice.date <= end
        )
    )
    for asset_id, day, close, volume in rows:
        out[asset_id][day] = (close, volume)
    return out


def dividends_of(session: Session, asset_ids: Sequence[int], start: date, end: date) -> dict[int, dict[date, Decimal]]:
    """The stored dividends of ``asset_ids`` with ex-dates in ``[start, end]``, by asset and ex-date."""
    out: dict[int, dict[date, Decimal]] = {asset_id: {} for asset_id in asset_ids}
    rows = session.execute(
        select(AssetDividend.asset_id, AssetDividend.ex_date, AssetDividend.amount).where(
            AssetDividend.asset_id.in_(list(asset_ids)), AssetDividend.ex_date >= start, AssetDividend.ex_date <= end
        )
    )
    for asset_id, day, amount in rows:
        out[asset_id][day] = amount
    return out
