"""Refresh runs and their batches, and the ledger of events already handled (idempotency)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoindex.db.base import Base
from autoindex.db.types import JsonDocument, UTCDateTime, utcnow

ACTIVE_RUN_STATUSES = ("queued", "running")


class RefreshRun(Base):
    __tablename__ = "refresh_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | admin | cli
    requested_by: Mapped[str | None] = mapped_column(String(64))
    # The schedule event's id or an admin's Idempotency-Key: the same request never makes two runs.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|succeeded|partial|failed
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    batches_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)  # symbol -> reason
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The database itself refuses a second active run: "never run twice" does not rest on timing.
        Index(
            "uq_refresh_runs_one_active",
            text("(1)"),
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )


class RefreshBatch(Base):
    """One provider call's worth of work: some symbols over one date range."""

    __tablename__ = "refresh_batches"

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("refresh_runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbols: Mapped[list[str]] = mapped_column(JsonDocument)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)  # inclusive
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A delivery holds the batch until then; a concurrent duplicate delivery backs off instead of fetching twice.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """An event or message id already handled by a consumer: a duplicate delivery does no duplicate work."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
