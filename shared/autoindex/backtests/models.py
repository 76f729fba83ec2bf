"""Backtests: who asked, with what parameters, on which data version, and the result once the job ends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from autoindex.db.base import Base
from autoindex.db.types import JsonDocument, UTCDateTime, utcnow


class Backtest(Base):
    __tablename__ = "backtests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # "key:<id>" or "user:<id>": limits (concurrency, daily quota) count per API key, or per account for tokens.
    caller: Mapped[str] = mapped_column(String(64))
    # queued | running | succeeded | failed | deleted (by its owner: hidden, emptied, still counted in the quota)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument)  # the request, resolved against the live strategy
    data_version: Mapped[int] = mapped_column(Integer)
    cache_key: Mapped[str] = mapped_column(String(64))  # sha256 of the canonical params and the data version
    cached: Mapped[bool] = mapped_column(default=False)  # answered from an earlier identical backtest
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The owner's Idempotency-Key and a hash of the body it came with: the same key names this backtest,
    # for BACKTEST_IDEMPOTENCY_HOURS after it was created; kept when it is deleted (a replay then says so).
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_backtests_user_id_created_at", "user_id", "created_at"),
        Index("ix_backtests_caller_created_at", "caller", "created_at"),
        Index("ix_backtests_cache_key", "cache_key"),
        # One backtest per key and owner, whoever of the owner's API keys or tokens sent it, even at once.
        Index("uq_backtests_user_id_idempotency_key", "user_id", "idempotency_key", unique=True),
    )
