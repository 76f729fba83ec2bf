"""Strategy versions and what the compute job derives from them: index values, allocations, metrics, state.

Strategy versions are immutable; exactly one is active. Every derived row belongs to one strategy
version, so a strategy change never overwrites the numbers of an earlier version. The single
``index_publication`` row says which version's numbers the read API serves, and carries the data
version that cache keys and ETags are built from.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, Numeric, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoindex.db.base import Base
from autoindex.db.types import JsonDocument, UTCDateTime, utcnow

# Index values near 100 keep 12 decimals (far below the 1e-9 the engine is checked to).
INDEX_VALUE = Numeric(24, 12)
WEIGHT = Numeric(20, 16)


# "publishing": the data is committed and readers are being moved to it; only then is the run final.
ComputeStatus = Literal["queued", "publishing", "succeeded", "noop", "failed"]
ComputeMode = Literal["full", "incremental"]
ACTIVE_COMPUTE_STATUSES: tuple[ComputeStatus, ...] = ("queued", "publishing")


class StrategyVersion(Base):
    """One immutable version of the strategy parameters; the partial unique index allows one active."""

    __tablename__ = "strategy_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the version number
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    author: Mapped[str] = mapped_column(String(64))  # "user:<id>", "api_key:<id>" or "system"
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index(
            "uq_strategy_versions_one_active",
            "is_active",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )


class ComputeRun(Base):
    """One execution (or skipped duplicate) of the compute job, for operators and the PUT's 202."""

    __tablename__ = "compute_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trigger: Mapped[str] = mapped_column(String(32))  # PricesRefreshed | StrategyChanged | cli
    strategy_version: Mapped[int | None] = mapped_column(ForeignKey("strategy_versions.id"))
    status: Mapped[ComputeStatus] = mapped_column(String(16), default="queued")
    mode: Mapped[ComputeMode | None] = mapped_column(String(16))
    data_version: Mapped[int | None] = mapped_column(Integer)
    days_added: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    # What the run's numbers rest on: the market-cap leg, its note, skipped rebalances (index.disclosure).
    disclosure: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndexValue(Base):
    __tablename__ = "index_values"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[Decimal] = mapped_column(INDEX_VALUE)


class IndexTotalValue(Base):
    """The total-return index (dividends reinvested) on one date, beside the price index of the same version."""

    __tablename__ = "index_total_values"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[Decimal] = mapped_column(INDEX_VALUE)


class IndexAllocation(Base):
    """Target weights decided at one rebalance (weights come from data strictly before ``date``)."""

    __tablename__ = "index_allocations"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    weight: Mapped[Decimal] = mapped_column(WEIGHT)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule", server_default="schedule")


class IndexRebalance(Base):
    """One rebalance (or formation, or a scheduled date skipped) with what stood behind it, for disclosure."""

    __tablename__ = "index_rebalances"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # formation | rebalance | skipped
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | drift | request
    turnover: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    # market_caps | partial | equal_weights | unused (the blend gives the market-cap scheme no weight)
    market_cap_leg: Mapped[str] = mapped_column(String(16))
    notes: Mapped[list[str]] = mapped_column(JsonDocument)
    # symbol -> {"source": edgar | fund_assets | excluded | equal_fallback, "filed": date or None}
    cap_sources: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class RebalanceRequest(Base):
    """An operator's request for an off-schedule rebalance at the first close on or after ``effective_date``."""

    __tablename__ = "rebalance_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndexMetric(Base):
    """A risk-metrics snapshot of one strategy version: ``periods``, ``rolling_30``, ``rolling_90``, ``notes``."""

    __tablename__ = "index_metrics"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndexEngineState(Base):
    """The engine's ``IndexState`` at the last computed date, so new days extend instead of recomputing."""

    __tablename__ = "index_engine_states"

    strategy_version: Mapped[int] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="CASCADE"), primary_key=True
    )
    last_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # Newest ingested_at among the prices read: a later one on an old date means a revision (full recompute).
    prices_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The total-return index's carry (``engine.total_return.TotalReturnState``); None: recompute in full.
    total_state: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndexPublication(Base):
    """The single row (id 1) naming the served strategy version; ``data_version`` only ever increases."""

    __tablename__ = "index_publication"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[int] = mapped_column(Integer, default=0)  # 0: nothing computed yet
    strategy_version: Mapped[int | None] = mapped_column(ForeignKey("strategy_versions.id"))
    as_of: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
