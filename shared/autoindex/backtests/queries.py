"""Backtest reads and writes. They flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, text

from autoindex.backtests.models import Backtest
from autoindex.index.models import IndexPublication
from autoindex.market.models import Asset, DailyPrice

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def data_version(session: Session) -> int:
    """The published data version (0 before the first compute)."""
    return int(session.scalar(select(IndexPublication.data_version).where(IndexPublication.id == 1)) or 0)


def closes_span(session: Session, symbols: Sequence[str]) -> tuple[date, date] | None:
    """The first and last date any of ``symbols`` has a stored close; None when none has one."""
    first, last = session.execute(
        select(func.min(DailyPrice.date), func.max(DailyPrice.date))
        .join(Asset, Asset.id == DailyPrice.asset_id)
        .where(Asset.symbol.in_(list(symbols)))
    ).one()
    return None if first is None or last is None else (first, last)


def lock_caller(session: Session, caller: str) -> None:
    """Serialise one caller's submissions until the transaction ends.

    The concurrency limit and the daily quota are counts of rows: without this, two simultaneous
    submissions would both count below the limit and both insert. Other callers are not blocked
    (a hash collision between two callers only makes them wait for each other, never miscount).
    SQLite (a single writer) has no advisory locks and needs none.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:caller))"), {"caller": f"backtests:{caller}"})


DELETED = "deleted"


def started_since(session: Session, caller: str, since: datetime) -> int:
    """Backtests the caller submitted since ``since``, deleted ones too: deleting one gives no quota back."""
    return int(session.scalar(select(func.count()).where(Backtest.caller == caller, Backtest.created_at >= since)) or 0)


def in_flight(session: Session, caller: str) -> int:
    query = select(func.count()).where(Backtest.caller == caller, Backtest.status.in_(("queued", "running")))
    return int(session.scalar(query) or 0)


def finished_with(session: Session, cache_key: str) -> Backtest | None:
    """A succeeded backtest with the same parameters on the same data version (its result is this one's)."""
    query = select(Backtest).where(Backtest.cache_key == cache_key, Backtest.status == "succeeded")
    return session.scalars(query.order_by(Backtest.created_at).limit(1)).first()


def keyed(session: Session, user_id: uuid.UUID, idempotency_key: str) -> Backtest | None:
    """The backtest the owner's Idempotency-Key created, deleted or not, of any age."""
    query = select(Backtest).where(Backtest.user_id == user_id, Backtest.idempotency_key == idempotency_key)
    return session.scalars(query).one_or_none()


def owned(session: Session, backtest_id: uuid.UUID, user_id: uuid.UUID) -> Backtest | None:
    query = select(Backtest).where(Backtest.id == backtest_id, Backtest.user_id == user_id, Backtest.status != DELETED)
    return session.scalars(query).first()


def page(
    session: Session, user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[Backtest]:
    """Newest first, ``limit`` + 1 rows; keyset on (created_at, id)."""
    query = select(Backtest).where(Backtest.user_id == user_id, Backtest.status != DELETED)
    if before is not None:
        at, ident = before
        query = query.where(or_(Backtest.created_at < at, (Backtest.created_at == at) & (Backtest.id < ident)))
    return list(session.scalars(query.order_by(Backtest.created_at.desc(), Backtest.id.desc()).limit(limit + 1)))


def runs_since(session: Session, user_id: uuid.UUID, since: datetime) -> int:
    return int(
        session.scalar(select(func.count()).where(Backtest.user_id == user_id, Backtest.created_at >= since)) or 0
    )
