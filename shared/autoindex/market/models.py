"""Assets of the universe (stocks, ETFs, the benchmark index, FX pairs), their daily bars, and refresh runs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from autoindex.db.base import Base
from autoindex.db.types import JsonDocument, UTCDateTime, utcnow

# Prices are exact decimals in storage; calculations convert to float64 deliberately.
PRICE = Numeric(20, 8)
OHLC_RULE = (
    "low > 0 AND low <= open AND low <= close AND high >= open AND high >= close AND (volume IS NULL OR volume >= 0)"
)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)  # "AAPL", "SPX", "USD/EUR"
    name: Mapped[str] = mapped_column(String(200))
    asset_type: Mapped[str] = mapped_column(String(16))  # stock | etf | index | fx | crypto
    exchange: Mapped[str | None] = mapped_column(String(32))
    mic_code: Mapped[str | None] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))  # quote currency of the prices
    sector: Mapped[str | None] = mapped_column(String(64))
    in_universe: Mapped[bool] = mapped_column(default=False)  # a constituent candidate of the index
    is_benchmark: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)  # refreshed by the pipeline
    # Last date the provider was asked about with success, bars or not (holidays): the next plan starts after it.
    prices_checked_through: Mapped[date | None] = mapped_column(Date)
    # Last date through which its splits were read off a whole history (stocks and ETFs); None: never, and the
    # next refresh fetches its whole history once to read them.
    splits_checked_through: Mapped[date | None] = mapped_column(Date)
    cik: Mapped[int | None] = mapped_column(Integer)  # SEC's Central Index Key, for share counts from EDGAR
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # At most one benchmark: the index is compared with one series.
        Index(
            "uq_assets_single_benchmark",
            "is_benchmark",
            unique=True,
            sqlite_where=text("is_benchmark"),
            postgresql_where=text("is_benchmark"),
        ),
    )


class DailyPrice(Base):
    """One daily bar; the primary key (asset_id, date) is the index every read and upsert uses."""

    __tablename__ = "daily_prices"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[Decimal] = mapped_column(PRICE)
    high: Mapped[Decimal] = mapped_column(PRICE)
    low: Mapped[Decimal] = mapped_column(PRICE)
    close: Mapped[Decimal] = mapped_column(PRICE)
    volume: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # twelvedata | demo
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The last line of defence: whatever the provider sends, an impossible bar never reaches the table.
    __table_args__ = (CheckConstraint(OHLC_RULE, name="ohlc_consistent"),)


class AssetDividend(Base):
    """A cash distribution: ``amount`` per share in the asset's quote currency, paid to holders before ``ex_date``.

    The total-return index reinvests it at the ex-date close into the paying asset (``docs/index-method.md``).
    """

    __tablename__ = "asset_dividends"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    ex_date: Mapped[date] = mapped_column(Date, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(PRICE)
    source: Mapped[str] = mapped_column(String(16))  # twelvedata | demo
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("amount > 0", name="positive_amount"),)


class AssetSplit(Base):
    """A share split: from ``effective_date`` on, ``shares_after`` shares for every ``shares_before`` held.

    The stored closes are split-adjusted onto today's basis; EDGAR share counts are not. A count from before
    a split is multiplied by its ratio (``market.shares.split_factor``). Read off the provider's own closes
    whenever a whole history is fetched (``providers/splits.py``), and replaced with that history.
    """

    __tablename__ = "asset_splits"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    effective_date: Mapped[date] = mapped_column(Date, primary_key=True)
    shares_after: Mapped[int] = mapped_column(Integer)
    shares_before: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # twelvedata | demo
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "shares_after > 0 AND shares_before > 0 AND shares_after <> shares_before", name="a_real_ratio"
        ),
    )

    @property
    def ratio(self) -> float:
        """New shares per old share (10.0 for 10-for-1, 0.125 for 1-for-8)."""
        return self.shares_after / self.shares_before


class AssetShareCount(Base):
    """One share-count fact as SEC EDGAR's companyfacts holds it: known from ``filed``, as of ``end_date``.

    Values are as filed (never split-adjusted); the market-cap rule (``market.shares``) chooses the one
    known on a date and puts it on the prices' basis.
    """

    __tablename__ = "asset_share_counts"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    accn: Mapped[str] = mapped_column(String(25), primary_key=True)
    end_date: Mapped[date] = mapped_column(Date, primary_key=True)
    concept: Mapped[str] = mapped_column(String(64), primary_key=True)  # dei:EntityCommonStockSharesOutstanding
    filed: Mapped[date] = mapped_column(Date)
    form: Mapped[str] = mapped_column(String(16))
    shares: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # edgar | demo
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("shares > 0", name="positive_shares"),)


RefreshStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
BatchStatus = Literal["pending", "done", "failed"]
ACTIVE_RUN_STATUSES: tuple[RefreshStatus, ...] = ("queued", "running")


class RefreshRun(Base):
    __tablename__ = "refresh_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | admin | cli
    requested_by: Mapped[str | None] = mapped_column(String(64))
    # The schedule event's id or an admin's Idempotency-Key: the same request never makes two runs.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[RefreshStatus] = mapped_column(String(16), default="queued")
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    batches_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    dividends_written: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)  # symbol -> reason
    # Histories replaced because a re-fetched close moved (a split, a re-basing, a provider revision).
    revisions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    # Payers whose dividends took a second call after all: symbol -> the decoder's reason (market/fallbacks.py).
    dividend_fallbacks: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)
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
    # Symbols with nothing stored yet: their whole history is fetched, so their splits are read beside it.
    backfill: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    status: Mapped[BatchStatus] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A delivery holds the batch until then; a concurrent duplicate delivery backs off instead of fetching twice.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    credits_used: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
